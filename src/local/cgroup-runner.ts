// A memory cgroup that memaudit creates for one `memaudit run`, always as a child of memaudit's
// own memory cgroup, and removes afterwards: it kills what is left inside, waits until the
// cgroup is empty, and rmdirs it (plus, on cgroup v2, undoes what it changed in the parent).
//
// Names carry memaudit's pid (`memaudit-run-PID-XXXX`), so a later run can remove the empty
// cgroups of a memaudit that was killed with SIGKILL and had no chance to clean up.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { EnvironmentError, errnoCode } from '../errors.ts';
import { kernelCgroupFs } from './cgroup-fs.ts';
import type { CgroupFs } from './cgroup-fs.ts';
import { errorText, isHierarchyRoot } from './cgroup-path.ts';
import type { MemoryCgroup } from './cgroup-path.ts';

export const RUN_PREFIX = 'memaudit-run-';
const SELF_PREFIX = 'memaudit-self-';
const OWNED_NAME = /^memaudit-(?:run|self)-(\d+)(?:-[0-9a-f]+)?$/;

export interface CreateRunCgroupOptions {
  /** memaudit's own memory cgroup (findMemoryCgroup()). */
  parent: MemoryCgroup;
  /** memory.max / memory.limit_in_bytes; null or undefined = no limit of its own. */
  limitBytes?: number | null;
  fs?: CgroupFs;
  /** memaudit's pid (injectable for fixtures). */
  selfPid?: number;
  /**
   * Start the watchdog that removes the cgroup when memaudit dies without cleaning up (even by
   * SIGKILL). Default: on with the kernel's cgroupfs, off with an injected fs.
   */
  watchdog?: boolean;
}

/**
 * The watchdog: a detached `sh` outside the cgroup, reading a pipe whose other end only memaudit
 * holds. EOF means memaudit is gone (normal end, crash, SIGKILL); it then kills what is left in
 * the cgroup and removes it, retrying for up to 10 s. After a normal cleanup it finds nothing to do.
 */
const WATCHDOG = `read _ignored
i=0
while [ -d "$1" ] && [ $i -lt 100 ]; do
  for p in $(cat "$1/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  rmdir "$1" 2>/dev/null && break
  sleep 0.1; i=$((i+1))
done
[ -n "$2" ] && rmdir "$2" 2>/dev/null
exit 0`;

function startWatchdog(dir: string, alsoRemove: string | null): ChildProcess | null {
  try {
    const child = spawn('/bin/sh', ['-c', WATCHDOG, 'memaudit-watchdog', dir, alsoRemove ?? ''], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', () => undefined);
    child.stdin?.on('error', () => undefined);
    child.unref();
    return child;
  } catch {
    return null;
  }
}

export class RunCgroup {
  readonly version: 1 | 2;
  readonly dir: string;
  readonly parent: MemoryCgroup;
  readonly #fs: CgroupFs;
  /** Steps that undo changes to the parent (v2), run in reverse order after the rmdir. */
  readonly #undo: { what: string; run: () => Promise<void> }[];
  #watchdog: ChildProcess | null = null;
  #removed = false;

  private constructor(parent: MemoryCgroup, dir: string, fs: CgroupFs, undo: { what: string; run: () => Promise<void> }[]) {
    this.version = parent.version;
    this.parent = parent;
    this.dir = dir;
    this.#fs = fs;
    this.#undo = undo;
  }

  /** Pid of the watchdog process (tests), or null. */
  get watchdogPid(): number | null {
    return this.#watchdog?.pid ?? null;
  }

  /**
   * Creates the cgroup. Throws EnvironmentError, saying why in one sentence, when it cannot
   * (no permission, no memory controller, cgroup v2's no-internal-process rule).
   */
  static async create(options: CreateRunCgroupOptions): Promise<RunCgroup> {
    const fs = options.fs ?? kernelCgroupFs;
    const selfPid = options.selfPid ?? process.pid;
    const parent = options.parent;
    if (isHierarchyRoot(parent)) {
      throw new EnvironmentError(
        `memaudit runs in the root memory cgroup (${parent.dir}) and creates cgroups only below its own: start it inside a cgroup of its own (for example with systemd-run --scope -p Delegate=yes)`,
      );
    }
    await sweepStale(parent.dir, fs);
    const undo: { what: string; run: () => Promise<void> }[] = [];
    try {
      if (parent.version === 2) await prepareV2Parent(parent, fs, selfPid, undo);
      const dir = path.join(parent.dir, `${RUN_PREFIX}${selfPid}-${randomBytes(2).toString('hex')}`);
      try {
        await fs.mkdir(dir);
      } catch (cause) {
        throw new EnvironmentError(`cannot create a memory cgroup in ${parent.dir}: ${errorText(cause)}`, { cause });
      }
      const cg = new RunCgroup(parent, dir, fs, undo);
      if (options.watchdog ?? options.fs === undefined) {
        const selfLeaf = parent.version === 2 ? path.join(parent.dir, `${SELF_PREFIX}${selfPid}`) : null;
        cg.#watchdog = startWatchdog(dir, selfLeaf);
      }
      try {
        if (options.limitBytes !== undefined && options.limitBytes !== null) await cg.setLimit(options.limitBytes);
      } catch (e) {
        await cg.destroy();
        throw e;
      }
      return cg;
    } catch (e) {
      await runUndo(undo);
      throw e;
    }
  }

  get procsFile(): string {
    return path.join(this.dir, 'cgroup.procs');
  }

  async setLimit(bytes: number): Promise<void> {
    const file = path.join(this.dir, this.version === 2 ? 'memory.max' : 'memory.limit_in_bytes');
    try {
      await this.#fs.writeFile(file, String(Math.floor(bytes)));
    } catch (cause) {
      throw new EnvironmentError(`cannot set the memory limit in ${file}: ${errorText(cause)}`, { cause });
    }
  }

  /** Moves a process (all its threads) into the cgroup. */
  async addProcess(pid: number): Promise<void> {
    try {
      await this.#fs.writeFile(this.procsFile, String(pid));
    } catch (cause) {
      throw new EnvironmentError(`cannot move process ${pid} into ${this.dir}: ${errorText(cause)}`, { cause });
    }
  }

  async pids(): Promise<number[]> {
    try {
      return parsePids(await this.#fs.readFile(this.procsFile));
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return [];
      throw e;
    }
  }

  /** How many times the kernel OOM-killed a process in this cgroup (null when not reported). */
  async oomKills(): Promise<number | null> {
    try {
      const text = await this.#fs.readFile(path.join(this.dir, this.version === 2 ? 'memory.events' : 'memory.oom_control'));
      const m = /^oom_kill\s+(\d+)$/m.exec(text);
      return m ? Number(m[1]) : null;
    } catch {
      return null;
    }
  }

  /** Sends a signal to every process in the cgroup; returns how many there were. */
  async signalAll(signal: NodeJS.Signals): Promise<number> {
    const pids = await this.pids();
    for (const pid of pids) this.#fs.kill(pid, signal);
    return pids.length;
  }

  /**
   * Kills everything left in the cgroup, waits until it is empty, removes it and undoes the
   * parent changes. Idempotent. Throws EnvironmentError when the cgroup cannot be removed within
   * `timeoutMs` (a process stuck in uninterruptible sleep), naming the directory.
   */
  async destroy(timeoutMs = 10_000): Promise<void> {
    if (this.#removed) return;
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
      const pids = await this.pids().catch(() => []);
      if (pids.length > 0) {
        if (this.version === 2 && (await this.#fs.exists(path.join(this.dir, 'cgroup.kill')))) {
          await this.#fs.writeFile(path.join(this.dir, 'cgroup.kill'), '1').catch(() => undefined);
        } else {
          for (const pid of pids) this.#fs.kill(pid, 'SIGKILL');
        }
      } else {
        try {
          await this.#fs.rmdir(this.dir);
          break;
        } catch (e) {
          if (errnoCode(e) === 'ENOENT') break;
          lastError = e;
        }
      }
      if (Date.now() > deadline) {
        throw new EnvironmentError(`could not remove cgroup ${this.dir}: ${pids.length > 0 ? `${pids.length} processes would not die (${pids.slice(0, 5).join(' ')})` : errorText(lastError)}`);
      }
      await sleep(delay);
    }
    this.#removed = true;
    // The watchdog shares memaudit's cgroup (on v2, the leaf the undo removes): let it go first.
    await this.#releaseWatchdog();
    await runUndo(this.#undo);
  }

  /** Closing our end of the pipe lets the watchdog exit (it finds the cgroup gone). */
  async #releaseWatchdog(): Promise<void> {
    const w = this.#watchdog;
    this.#watchdog = null;
    if (!w) return;
    const exited = w.exitCode !== null || w.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => w.once('exit', () => resolve()));
    w.stdin?.end();
    w.stdin?.destroy();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, 2_000)))]);
    clearTimeout(timer);
  }

  /**
   * Best-effort synchronous cleanup for `process.on('exit')`, where nothing async runs: kill,
   * then spin briefly until the rmdir succeeds. Leaves the v2 parent changes for the next sweep.
   */
  destroySync(timeoutMs = 2_000): void {
    if (this.#removed) return;
    const deadline = Date.now() + timeoutMs;
    const wait = new Int32Array(new SharedArrayBuffer(4));
    while (Date.now() < deadline) {
      let pids: number[];
      try {
        pids = parsePids(this.#fs.readFileSync(this.procsFile));
      } catch {
        pids = [];
      }
      for (const pid of pids) this.#fs.kill(pid, 'SIGKILL');
      try {
        this.#fs.rmdirSync(this.dir);
        this.#removed = true;
        return;
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') {
          this.#removed = true;
          return;
        }
      }
      Atomics.wait(wait, 0, 0, 20);
    }
  }

  get removed(): boolean {
    return this.#removed;
  }
}

export function parsePids(text: string): number[] {
  return text
    .split('\n')
    .filter((l) => /^\d+$/.test(l.trim()))
    .map(Number);
}

async function runUndo(undo: { what: string; run: () => Promise<void> }[]): Promise<void> {
  while (undo.length > 0) {
    const step = undo.pop()!;
    try {
      await step.run();
    } catch {
      // The parent stays as it is; the next run's sweep removes an empty leftover cgroup.
    }
  }
}

/**
 * Removes empty cgroups left by a memaudit that died without cleaning up (its pid is gone).
 * Never touches a cgroup that still holds a process or whose memaudit is alive.
 */
export async function sweepStale(parentDir: string, fs: CgroupFs = kernelCgroupFs): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(parentDir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = OWNED_NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || isAlive(pid)) continue;
    const dir = path.join(parentDir, name);
    try {
      if (parsePids(await fs.readFile(path.join(dir, 'cgroup.procs'))).length > 0) continue;
      await fs.rmdir(dir);
      removed.push(dir);
    } catch {
      // Not ours to insist on.
    }
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM';
  }
}

/**
 * cgroup v2 gives a child a memory controller only when the parent lists `memory` in
 * cgroup.subtree_control, and a non-root cgroup that does so may hold no process itself
 * ("no internal processes"). memaudit's own cgroup holds memaudit, so:
 *   - memory already delegated: nothing to do;
 *   - enabling it works (the parent is empty, e.g. memaudit runs in a leaf below it): do it, undo later;
 *   - the parent holds only memaudit: move memaudit into a leaf `memaudit-self-PID`, enable
 *     memory, and undo both afterwards;
 *   - the parent holds other processes (the shell that started memaudit): refuse, plainly.
 */
async function prepareV2Parent(parent: MemoryCgroup, fs: CgroupFs, selfPid: number, undo: { what: string; run: () => Promise<void> }[]): Promise<void> {
  const controllers = (await fs.readFile(path.join(parent.dir, 'cgroup.controllers')).catch(() => '')).split(/\s+/).filter((c) => c !== '');
  if (!controllers.includes('memory')) {
    throw new EnvironmentError(`cgroup v2: the memory controller is not available in ${parent.dir} (its cgroup.controllers has [${controllers.join(' ')}]); the parent cgroup does not delegate it`);
  }
  const subtreeFile = path.join(parent.dir, 'cgroup.subtree_control');
  const enabled = async () => (await fs.readFile(subtreeFile)).split(/\s+/).includes('memory');
  if (await enabled()) return;

  const enable = async (): Promise<unknown> => {
    try {
      await fs.writeFile(subtreeFile, '+memory');
      undo.push({ what: `disable memory in ${subtreeFile}`, run: () => fs.writeFile(subtreeFile, '-memory') });
      return undefined;
    } catch (e) {
      return e;
    }
  };
  let err = await enable();
  if (err === undefined) return;
  if (errnoCode(err) !== 'EBUSY') {
    throw new EnvironmentError(`cgroup v2: cannot enable the memory controller for children of ${parent.dir}: ${errorText(err)}`, { cause: err });
  }
  const procsFile = path.join(parent.dir, 'cgroup.procs');
  const others = parsePids(await fs.readFile(procsFile)).filter((p) => p !== selfPid);
  if (others.length > 0) {
    throw new EnvironmentError(
      `cgroup v2 allows no processes in a cgroup that hands memory to children, and ${parent.dir} holds ${others.length} other process(es) (pids ${others.slice(0, 5).join(' ')}): ` +
        'start memaudit in a cgroup of its own, e.g. systemd-run --user --scope -p Delegate=yes ./bin/memaudit run ...',
    );
  }
  const leaf = path.join(parent.dir, `${SELF_PREFIX}${selfPid}`);
  try {
    await fs.mkdir(leaf);
  } catch (cause) {
    if (errnoCode(cause) !== 'EEXIST') throw new EnvironmentError(`cgroup v2: cannot create ${leaf} for memaudit itself: ${errorText(cause)}`, { cause });
  }
  undo.push({ what: `remove ${leaf}`, run: () => fs.rmdir(leaf) });
  try {
    await fs.writeFile(path.join(leaf, 'cgroup.procs'), String(selfPid));
  } catch (cause) {
    throw new EnvironmentError(`cgroup v2: cannot move memaudit into ${leaf}: ${errorText(cause)}`, { cause });
  }
  // Back to where it started before the leaf is removed (after memory is disabled again).
  undo.push({ what: `move memaudit back to ${parent.dir}`, run: () => fs.writeFile(procsFile, String(selfPid)) });
  err = await enable();
  if (err !== undefined) {
    throw new EnvironmentError(`cgroup v2: cannot enable the memory controller for children of ${parent.dir}: ${errorText(err)}`, { cause: err });
  }
}
