import { isEnvironmentError, isInputError, isUsageError, isMemauditError } from '../errors.ts';
import { ExitCode } from './exit-codes.ts';
import type { Command } from './command.ts';
import { analyzeCommand } from './analyze.ts';
import { runCommand } from './run.ts';
import { watchCommand } from './watch.ts';
import { controllerCommand } from './controller.ts';
import { dockerCommand } from './docker.ts';
import { scanCommand } from './scan.ts';

/** The command registry: one file per command, each exporting a Command. */
const COMMANDS: readonly Command[] = [analyzeCommand, scanCommand, runCommand, watchCommand, dockerCommand, controllerCommand];

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'memaudit: is the memory growth page cache or a leak? Verdicts with evidence, and memory limits.',
    '',
    'Usage: memaudit <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'memaudit <command> --help' for a command's options. Docs: docs/cli.md",
  ].join('\n');
}

export async function main(argv: string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream } = process): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage() + '\n');
    return name === undefined ? ExitCode.Usage : ExitCode.Ok;
  }
  if (name === '--version') {
    io.stdout.write('memaudit 0.1.0\n');
    return ExitCode.Ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`memaudit: unknown command ${JSON.stringify(name)}\n\n${usage()}\n`);
    return ExitCode.Usage;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    return reportError(e, io.stderr);
  }
}

/** Maps an error to a one-line message and an exit code; a stack trace only for real bugs. */
export function reportError(e: unknown, stderr: NodeJS.WritableStream): number {
  if (isUsageError(e)) {
    stderr.write(`memaudit: ${e.message}\n`);
    return ExitCode.Usage;
  }
  if (isInputError(e)) {
    stderr.write(`memaudit: bad input: ${e.message}\n`);
    return ExitCode.BadInput;
  }
  if (isEnvironmentError(e)) {
    stderr.write(`memaudit: ${e.message}\n`);
    return ExitCode.Unavailable;
  }
  if (isMemauditError(e)) {
    stderr.write(`memaudit: ${e.message}\n`);
    return ExitCode.Unavailable;
  }
  stderr.write(`memaudit: internal error (please report): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return ExitCode.Internal;
}
