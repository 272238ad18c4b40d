// The capture id podtracer makes up when none is given (--capture-id, SNOOPY_CAPTURE_ID, or a
// node's assignment): the start time and a random suffix, so two runs never share object keys.
import { randomBytes } from 'node:crypto';

export function generatedCaptureId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').toLowerCase();
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}
