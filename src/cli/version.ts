// memaudit's own version, read from package.json (beside src/ and dist/ alike) the first time it is
// asked for: `memaudit version`, -V/--version of every command, the HTML report's footer. Read
// lazily, so a command that never asks does not depend on the file; "unknown" where it is missing
// (a build copied without its package.json).
import { readFileSync } from 'node:fs';
import { defineCommand } from './command.ts';
import { ExitCode } from './exit-codes.ts';

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

/** What `memaudit version` and -V/--version print. */
export const versionLine = (): string => `memaudit ${memauditVersion()}\n`;

export const versionCommand = defineCommand({
  help: "Usage: memaudit version\n\nPrints memaudit's version (as -V and --version do after any command).",
  options: {},
  operands: 'none',
  async run(_args, io) {
    io.stdout.write(versionLine());
    return ExitCode.Ok;
  },
});
