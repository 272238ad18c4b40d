// Executables in package.json "bin" must be runnable after `npm run build`: make them executable.
import { chmodSync, existsSync, readFileSync } from 'node:fs';
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
for (const path of Object.values(pkg.bin)) {
  if (existsSync(path)) chmodSync(path, 0o755);
}
