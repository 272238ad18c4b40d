// kubectl-snoopy end to end on the dev cluster (e2e-suite.ts), storing into Ceph RGW (a one-node
// cluster started by the suite on the cluster bridge).
import { defineCliE2e } from './e2e-suite.js';

defineCliE2e('rgw');
