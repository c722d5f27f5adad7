import { isEnvironmentError, isInputError, isUsageError, isMemauditError } from '../errors.ts';
import { printable } from '../report/escape.ts';
import { ExitCode } from './exit-codes.ts';
import type { Command } from './command.ts';

/**
 * The command registry: one file per command, each exporting a Command, loaded only when it runs.
 * Loading every command up front cost ~75 MiB of RSS before any work (the controller's Kubernetes
 * client, dockerode), which `analyze` of a large recording does not need.
 */
const COMMANDS: readonly { name: string; summary: string; load: () => Promise<Command> }[] = [
  { name: 'analyze', summary: 'analyse recorded samples (Docker stats, cgroup snapshots, Prometheus, heap profiles)', load: async () => (await import('./analyze.ts')).analyzeCommand },
  { name: 'scan', summary: 'audit every container of a cluster from Prometheus history (cAdvisor, kube-state-metrics)', load: async () => (await import('./scan.ts')).scanCommand },
  { name: 'run', summary: 'run a command in a memory cgroup of its own and tell page-cache growth from a leak', load: async () => (await import('./run.ts')).runCommand },
  { name: 'watch', summary: 'audit a running process or cgroup, read-only', load: async () => (await import('./watch.ts')).watchCommand },
  { name: 'docker', summary: 'audit a running Docker container or Compose service; --write-limit writes the limit into the Compose file', load: async () => (await import('./docker.ts')).dockerCommand },
  { name: 'controller', summary: 'Run the MemoryAudit Kubernetes controller', load: async () => (await import('./controller.ts')).controllerCommand },
];

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
    io.stderr.write(`memaudit: unknown command ${printable(JSON.stringify(name))}\n\n${usage()}\n`);
    return ExitCode.Usage;
  }
  try {
    return await (await command.load()).run(rest, io);
  } catch (e) {
    return reportError(e, io.stderr);
  }
}

/**
 * Maps an error to a one-line message and an exit code; a stack trace only for real bugs. Messages
 * name files, containers and values from the input: their control characters are escaped.
 */
export function reportError(e: unknown, stderr: NodeJS.WritableStream): number {
  if (isUsageError(e)) {
    stderr.write(`memaudit: ${printable(e.message, true)}\n`);
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
