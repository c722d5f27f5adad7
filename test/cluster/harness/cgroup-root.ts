import { mkdir, readFile, readdir, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ownMemoryCgroup } from '../../e2e/harness/cgroup.ts';

/**
 * The kubelet's --cgroup-root: `<this process's memory cgroup>/memaudit-cluster-<pid>`, so every
 * pod cgroup (kubepods/<qos>/pod<uid>/<container>) is charged inside the cgroup the test runs in
 * and nowhere else in the host's memory hierarchy.
 *
 * On cgroup v1 the cgroupfs driver (kubelet, runc) uses one relative path in every hierarchy, and
 * the kubelet refuses a cgroup root that does not exist in each of them. Where this process sits
 * at the root of a hierarchy (cpu, pids, ... on these machines), the same path is created there;
 * that includes the hybrid host's cgroup v2 mount (/sys/fs/cgroup/unified), where the kubelet and
 * runc make the same directories. remove() deletes exactly the directories create() made and the
 * pod cgroups below them (rmdir only ever removes an empty cgroup).
 */
const CGROUP_FS = '/sys/fs/cgroup';

export interface CgroupRootRecord {
  path: string;
  created: string[];
  hierarchies: string[];
}

export class CgroupRoot {
  /** The path the kubelet is given (the same in every v1 hierarchy). */
  readonly path: string;
  /** Absolute directories this created, parents first. */
  private readonly created: string[];
  private readonly hierarchies: string[];

  private constructor(p: string, created: string[], hierarchies: string[]) {
    this.path = p;
    this.created = created;
    this.hierarchies = hierarchies;
  }

  /** What remove() needs, for a later run to clean up after one that was killed (stale.ts). */
  record(): CgroupRootRecord {
    return { path: this.path, created: [...this.created], hierarchies: [...this.hierarchies] };
  }

  static fromRecord(r: CgroupRootRecord): CgroupRoot {
    return new CgroupRoot(r.path, r.created, r.hierarchies);
  }

  static async create(name = `memaudit-cluster-${process.pid}`): Promise<CgroupRoot> {
    const own = await ownMemoryCgroup();
    if (own.version !== 1) {
      // A v2 root would need the memory, cpu and pids controllers delegated to a child of our
      // own cgroup, which holds processes (the no-internal-processes rule): not done yet.
      throw new Error(`test/cluster: cgroup v2 host (${own.dir}); the real-node suite supports the v1 memory controller only`);
    }
    const rel = path.posix.join('/', path.relative(path.join(CGROUP_FS, 'memory'), own.dir), name);
    const hierarchies: string[] = [];
    for (const entry of await readdir(CGROUP_FS)) {
      const dir = path.join(CGROUP_FS, entry);
      const isHierarchy = await stat(path.join(dir, 'cgroup.procs')).then(() => true, () => false);
      if (isHierarchy && !(await stat(dir)).isSymbolicLink()) hierarchies.push(dir);
    }
    const created: string[] = [];
    const root = new CgroupRoot(rel, created, hierarchies);
    try {
      for (const h of hierarchies) {
        let dir = h;
        for (const part of rel.split('/').filter(Boolean)) {
          const parent = dir;
          dir = path.join(dir, part);
          const exists = await stat(dir).then(() => true, () => false);
          if (exists) continue;
          await mkdir(dir);
          created.push(dir);
          // A new v1 cpuset cgroup starts with no CPUs and no memory nodes: no task could join it.
          if (path.basename(h) === 'cpuset') {
            for (const f of ['cpuset.cpus', 'cpuset.mems']) await writeFile(path.join(dir, f), (await readFile(path.join(parent, f), 'utf8')).trim() || '\n');
          }
        }
      }
    } catch (e) {
      await root.remove();
      throw e;
    }
    return root;
  }

  /** The memory cgroup directory of a path below the root (e.g. kubepods/burstable/pod<uid>/<id>). */
  memoryDir(...below: string[]): string {
    return path.join(CGROUP_FS, 'memory', this.path, ...below);
  }

  /** Every pid in the subtree (memory and pids hierarchies): the pods' processes. */
  async pids(): Promise<number[]> {
    const out = new Set<number>();
    for (const h of this.hierarchies.filter((d) => ['memory', 'pids'].includes(path.basename(d)))) {
      for (const dir of await subtree(path.join(h, this.path))) {
        const text = await readFile(path.join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
        for (const l of text.split('\n')) if (l) out.add(Number(l));
      }
    }
    return [...out];
  }

  /**
   * Removes the pod cgroups left below the root, then what create() made, deepest first. Their
   * processes must have exited: rmdir fails on a cgroup with tasks, and that error is thrown.
   */
  async remove(): Promise<void> {
    const failures: string[] = [];
    for (const h of this.hierarchies) {
      const top = path.join(h, this.path);
      const dirs = (await subtree(top)).filter((d) => d !== top).sort((a, b) => b.length - a.length);
      for (const d of dirs) await rmdirRetry(d).catch((e: Error) => failures.push(`${d}: ${e.message}`));
    }
    for (const d of [...this.created].reverse()) await rmdirRetry(d).catch((e: Error) => failures.push(`${d}: ${e.message}`));
    if (failures.length > 0) throw new Error(`cgroups left behind: ${failures.join('; ')}`);
  }
}

async function subtree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
  if (!entries) return [];
  const out = [dir];
  for (const e of entries) if (e.isDirectory()) out.push(...(await subtree(path.join(dir, e.name))));
  return out;
}

async function rmdirRetry(dir: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await rmdir(dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || i >= 50) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
