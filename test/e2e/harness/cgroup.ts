import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Child memory cgroups for the fixture processes, created ONLY under this process's own memory
 * cgroup (from /proc/self/cgroup) and removed afterwards. Works with the v1 memory controller
 * (/sys/fs/cgroup/memory/...) and with cgroup v2.
 */
export interface OwnMemoryCgroup {
  version: 1 | 2;
  dir: string;
}

export async function ownMemoryCgroup(): Promise<OwnMemoryCgroup> {
  const lines = (await readFile('/proc/self/cgroup', 'utf8')).split('\n');
  const v1 = lines.find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
  if (v1) return { version: 1, dir: path.join('/sys/fs/cgroup/memory', v1.split(':')[2]!) };
  const v2 = lines.find((l) => l.startsWith('0::'));
  if (v2) return { version: 2, dir: path.join('/sys/fs/cgroup', v2.slice(3)) };
  throw new Error('no memory cgroup in /proc/self/cgroup');
}

export class ChildCgroup {
  readonly version: 1 | 2;
  readonly dir: string;

  private constructor(version: 1 | 2, dir: string) {
    this.version = version;
    this.dir = dir;
  }

  static async create(name: string, limitBytes?: number): Promise<ChildCgroup> {
    const own = await ownMemoryCgroup();
    const dir = path.join(own.dir, `memaudit-e2e-${process.pid}-${name}`);
    await mkdir(dir);
    const cg = new ChildCgroup(own.version, dir);
    if (limitBytes !== undefined) await writeFile(path.join(dir, own.version === 1 ? 'memory.limit_in_bytes' : 'memory.max'), String(limitBytes));
    return cg;
  }

  /** A shell prefix that moves the shell into this cgroup, then execs the program. */
  execArgs(file: string, args: string[]): [string, string[]] {
    return ['/bin/sh', ['-c', `echo $$ > "$0" && exec "$@"`, path.join(this.dir, 'cgroup.procs'), file, ...args]];
  }

  async pids(): Promise<number[]> {
    const text = await readFile(path.join(this.dir, 'cgroup.procs'), 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean).map(Number);
  }

  /** Removes the cgroup; its processes must have exited (retries while the kernel lets go). */
  async remove(): Promise<void> {
    for (let i = 0; i < 50; i++) {
      try {
        await rmdir(this.dir);
        return;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return;
        if (code !== 'EBUSY') throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error(`cannot remove ${this.dir}: still busy`);
  }
}
