// Starts the command under audit. With a cgroup, a small `sh` moves itself into the cgroup and
// only then execs the command, so the command (and everything it forks) is accounted there from
// its first page; a pipe on fd 3 tells memaudit that the move worked.
//
// The command gets its own process group (so memaudit can signal all of it, and a terminal's
// Ctrl-C reaches memaudit, which forwards it), no stdin, and its stdout/stderr piped to memaudit,
// which shows them on its stderr: memaudit's stdout carries only its own report.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { EnvironmentError, UsageError } from '../errors.ts';
import type { RunCgroup } from './cgroup-runner.ts';

export interface Launched {
  child: ChildProcess;
  pid: number;
  /** Resolves when the command exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: Readable[];
}

const NOT_FOUND = 127;
const MOVE_FAILED = 125;
const MOVE_THEN_EXEC = `command -v "$2" >/dev/null 2>&1 || exit ${NOT_FOUND}; { echo $$ > "$1"; } 2>/dev/null || exit ${MOVE_FAILED}; echo moved >&3; exec 3>&-; shift; exec "$@"`;

export async function launch(command: string[], cgroup: RunCgroup | null): Promise<Launched> {
  const [file, ...args] = command;
  if (file === undefined) throw new UsageError('no command given after --');
  if (cgroup === null) {
    const launched = start(spawn(file, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] }));
    if (launched.pid < 0) {
      const e = await launched.exited.then(
        () => undefined,
        (err: unknown) => err,
      );
      throw new UsageError(`${file}: cannot run it (${e instanceof Error ? e.message : String(e)})`);
    }
    return launched;
  }

  const child = spawn('/bin/sh', ['-c', MOVE_THEN_EXEC, 'memaudit-run', cgroup.procsFile, file, ...args], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  const launched = start(child);
  const confirm = child.stdio[3] as Readable;
  let said = '';
  confirm.setEncoding('utf8');
  confirm.on('data', (d: string) => (said += d));
  await new Promise<void>((resolve) => {
    confirm.once('close', resolve);
    confirm.once('end', resolve);
  });
  if (!said.includes('moved')) {
    const { code } = await launched.exited;
    if (code === NOT_FOUND) throw new UsageError(`${file}: command not found`);
    throw new EnvironmentError(`could not move the command into ${cgroup.dir} (no permission to write ${cgroup.procsFile}?)`);
  }
  return launched;
}

function start(child: ChildProcess): Launched {
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  if (child.pid === undefined) {
    // spawn reports ENOENT/EACCES asynchronously through 'error'.
    return { child, pid: -1, exited, output: [] };
  }
  return { child, pid: child.pid, exited, output: [child.stdout!, child.stderr!] };
}
