import { isEnvironmentError, isInputError, isUsageError, isMemauditError } from '../errors.ts';
import { printable } from '../report/escape.ts';
import { COMMON_HELP, readArgs, type CommandArgs, type OptionSpecs } from './args.ts';
import { ExitCode } from './exit-codes.ts';
import type { Command, CommandIo } from './command.ts';
import { COMMANDS } from './registry.ts';
import { versionLine } from './version.ts';

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
    COMMON_HELP,
    '',
    "Run 'memaudit <command> --help' for a command's options. Docs: docs/cli.md",
  ].join('\n');
}

/** A command's --help: its own text, then the options every command has. */
export const commandHelp = (command: Command): string => `${command.help}\n\n${COMMON_HELP}\n`;

export async function main(argv: string[], io: CommandIo = process): Promise<number> {
  const [name, ...rest] = argv;
  // Bare `memaudit` is a usage error: the usage goes to stderr, as for every other one.
  if (name === undefined) {
    io.stderr.write(usage() + '\n');
    return ExitCode.Usage;
  }
  if (name === '--help' || name === '-h' || name === 'help') return help(rest, io);
  if (name === '--version' || name === '-V') {
    io.stdout.write(versionLine());
    return ExitCode.Ok;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    io.stderr.write(`memaudit: ${name.startsWith('-') ? `unknown option ${printable(name, true)} before the command` : `unknown command ${printable(JSON.stringify(name), true)}`}; see 'memaudit --help'\n`);
    return ExitCode.Usage;
  }
  try {
    const command = await entry.load();
    const args = readArgs(rest, command.options, command.operands);
    if (args.values.help) {
      io.stdout.write(commandHelp(command));
      return ExitCode.Ok;
    }
    if (args.values.version) {
      io.stdout.write(versionLine());
      return ExitCode.Ok;
    }
    return await command.run(args as CommandArgs<OptionSpecs>, io);
  } catch (e) {
    return reportError(e, io.stderr, entry.name);
  }
}

/** `memaudit help [COMMAND]`: the usage, or a command's help. */
async function help([topic, ...extra]: string[], io: CommandIo): Promise<number> {
  if (topic === undefined) {
    io.stdout.write(usage() + '\n');
    return ExitCode.Ok;
  }
  const entry = COMMANDS.find((c) => c.name === topic);
  if (!entry || extra.length > 0) {
    io.stderr.write(`memaudit: help: ${entry ? 'one command at a time' : `no command ${printable(JSON.stringify(topic), true)}`}; see 'memaudit --help'\n`);
    return ExitCode.Usage;
  }
  io.stdout.write(commandHelp(await entry.load()));
  return ExitCode.Ok;
}

/**
 * Maps an error to a one-line message and an exit code; a stack trace only for real bugs. A usage
 * error names the command and points at its --help. Messages name files, containers and values
 * from the input: their control characters are escaped.
 */
export function reportError(e: unknown, stderr: NodeJS.WritableStream, command?: string): number {
  if (isUsageError(e)) {
    const where = command === undefined ? 'memaudit' : `memaudit ${command}`;
    stderr.write(`${where}: ${printable(e.message, true)}; see '${where} --help'\n`);
    return ExitCode.Usage;
  }
  if (isInputError(e)) {
    stderr.write(`memaudit: bad input: ${printable(e.message)}\n`);
    return ExitCode.BadInput;
  }
  if (isEnvironmentError(e)) {
    stderr.write(`memaudit: ${printable(e.message, true)}\n`);
    return ExitCode.Unavailable;
  }
  if (isMemauditError(e)) {
    stderr.write(`memaudit: ${printable(e.message, true)}\n`);
    return ExitCode.Unavailable;
  }
  stderr.write(`memaudit: internal error (please report): ${printable(e instanceof Error ? (e.stack ?? e.message) : String(e), true)}\n`);
  return ExitCode.Internal;
}
