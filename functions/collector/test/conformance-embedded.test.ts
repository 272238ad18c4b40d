// The storage conformance suite (conformance.ts) against the embedded S3 server (a child process).
import { defineStorageConformance } from './conformance.js';

defineStorageConformance('embedded');
