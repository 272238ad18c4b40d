// The analyzer as other parts' tests run it in-process (their only way in; the part boundary
// check in .dependency-cruiser.cjs enforces that): the CloudEvent handler.
export { createHandler } from './handle.js';
