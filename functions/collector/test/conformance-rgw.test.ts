// The storage conformance suite (conformance.ts) against Ceph RGW: a one-node cluster (monitor, memstore OSD, RADOS Gateway) started for this file.
import { defineStorageConformance } from './conformance.js';

defineStorageConformance('rgw');
