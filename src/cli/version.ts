// memaudit's own version, read from package.json (beside src/ and dist/ alike) the first time it is
// asked for, for what memaudit writes about itself: the HTML report's footer. Read lazily, so a
// command that never asks does not depend on the file; "unknown" where it is missing (a build
// copied without its package.json).
import { readFileSync } from 'node:fs';

let version: string | undefined;

export function memauditVersion(): string {
  if (version === undefined) {
    try {
      version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
    } catch {
      version = 'unknown';
    }
  }
  return version;
}
