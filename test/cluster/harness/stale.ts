import { readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../e2e/harness/exec.ts';
import { CgroupRoot } from './cgroup-root.ts';
import type { CgroupRootRecord } from './cgroup-root.ts';
import { mountNamespacePids } from './node.ts';

/**
 * A cluster run that was killed (Ctrl-C, a CI timeout) cannot stop what it started: kubelet,
 * containerd and its shims, the pods, etcd and the API server keep running, and the cgroups,
 * the network namespace and the temp dirs stay. Every run therefore writes what it made to
 * `<dir>/run.json` as it makes it, and the next run's start reaps the runs whose owner is gone:
 * the recorded processes (checked by executable, so a reused pid is left alone), everything in
 * the recorded node mount namespace and cgroups (all of it started by that run), then the
 * cgroups, the namespace and the dirs.
 */
export const RUN_DIR_PREFIX = 'memaudit-cluster-';

export interface RunRecord {
  owner: { pid: number; startTicks: string };
  dirs: string[];
  netns?: { name: string; hostIf: string };
  cgroupRoot?: CgroupRootRecord;
  mountNs?: string;
  procs: { name: string; pid: number; exe: string }[];
}

async function startTicks(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Field 22 (starttime), counted after the parenthesised command name.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
}

export async function ownerOfThisProcess(): Promise<RunRecord['owner']> {
  return { pid: process.pid, startTicks: await startTicks(process.pid) };
}

export async function writeRecord(dir: string, record: RunRecord): Promise<void> {
  await writeFile(path.join(dir, 'run.json'), JSON.stringify(record, null, 1));
}

/** A process's executable, for the record. */
export async function exeOf(pid: number | undefined): Promise<string> {
  return pid === undefined ? '' : readlink(`/proc/${pid}/exe`).catch(() => '');
}

function kill(pids: Iterable<number>): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** Reaps the cluster runs in the temp dir whose owner process is gone; returns their dirs. */
export async function reapStaleRuns(): Promise<string[]> {
  const reaped: string[] = [];
  for (const entry of await readdir(os.tmpdir())) {
    if (!entry.startsWith(RUN_DIR_PREFIX)) continue;
    const dir = path.join(os.tmpdir(), entry);
    const record = await readFile(path.join(dir, 'run.json'), 'utf8').then((t) => JSON.parse(t) as RunRecord, () => undefined);
    if (!record) continue;
    if ((await startTicks(record.owner.pid)) === record.owner.startTicks) continue;
    for (const p of record.procs) if (p.exe && (await exeOf(p.pid)) === p.exe) kill([p.pid]);
    const root = record.cgroupRoot ? CgroupRoot.fromRecord(record.cgroupRoot) : undefined;
    for (let i = 0; i < 50; i++) {
      const left = [...(record.mountNs ? await mountNamespacePids(record.mountNs) : []), ...(root ? await root.pids() : [])];
      if (left.length === 0) break;
      kill(left);
      await new Promise((r) => setTimeout(r, 100));
    }
    await root?.remove().catch(() => undefined);
    if (record.netns) {
      await run('ip', ['netns', 'del', record.netns.name]);
      await run('ip', ['link', 'del', record.netns.hostIf]);
    }
    for (const d of record.dirs) await rm(d, { recursive: true, force: true });
    reaped.push(dir);
  }
  return reaped;
}
