// `summary` where no analyzer is deployed: the snoopy-analyzer installed beside this plugin reads
// a target's segments straight from storage (`summarize s3://… --json`), as a child process, so
// the plugin stays apart from the analyzer's code.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Summary } from '../lib/api/analysis-summary.js';
import { CliError } from './cli-error.js';
import type { StorageLocation } from './storage.js';

/** The analyzer of the same install (dist/functions/analyzer/main.js beside dist/cli/). */
export const LOCAL_ANALYZER = fileURLToPath(new URL('../functions/analyzer/main.js', import.meta.url));

/** The storage settings as the analyzer reads them from its environment. */
export function analyzerEnv(loc: StorageLocation, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const s = loc.settings;
  const env: NodeJS.ProcessEnv = { ...base, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', LOG_LEVEL: 'warn' };
  for (const [name, value] of [
    ['S3_ENDPOINT', s.endpoint],
    ['S3_REGION', s.region],
    ['S3_FORCE_PATH_STYLE', s.forcePathStyle === undefined ? undefined : String(s.forcePathStyle)],
    ['AWS_ACCESS_KEY_ID', s.accessKeyId],
    ['AWS_SECRET_ACCESS_KEY', s.secretAccessKey],
    ['AWS_SESSION_TOKEN', s.sessionToken],
  ] as const) {
    if (value !== undefined) env[name] = value;
    else delete env[name];
  }
  return env;
}

/** One target's summary from its segments (keys in order), analysed here. */
export function analyzeLocally(loc: StorageLocation, keys: readonly string[], analyzer = LOCAL_ANALYZER): Promise<Summary> {
  if (!existsSync(analyzer)) {
    return Promise.reject(new CliError('no analyzer summaries in storage and no snoopy-analyzer installed beside this plugin to analyse the segments here'));
  }
  const uris = keys.map((k) => `s3://${loc.bucket}/${k}`);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [analyzer, 'summarize', '--json', ...uris], { env: analyzerEnv(loc, process.env), maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(new CliError(`analysing ${keys[0] ?? 'the segments'} here failed: ${stderr.trim().split('\n').at(-1) || err.message.split('\n')[0]}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as Summary);
      } catch {
        reject(new CliError(`the local analyzer did not print a summary for ${keys[0] ?? 'the segments'}`));
      }
    });
  });
}
