// kubectl-snoopy end to end on the dev cluster (e2e-suite.ts), storing into the embedded S3 server.
import { defineCliE2e } from './e2e-suite.js';

defineCliE2e('embedded');
