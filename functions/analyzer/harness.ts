// The analyzer as other parts' tests run it in-process (their only way in; the part boundary
// check in .dependency-cruiser.cjs enforces that): the CloudEvent handler, and a capture file's
// analysis with the flows named from a target's evidence.
export { createHandler, nameFlows } from './handle.js';
export { analyzeSources } from './source.js';
