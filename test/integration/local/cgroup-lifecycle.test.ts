import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findMemoryCgroup, parseCgroupMounts, parseProcCgroup } from '../../../src/local/cgroup-path.ts';
import { RunCgroup, parsePids, sweepStale } from '../../../src/local/cgroup-runner.ts';
import { cgroupReader } from '../../../src/sampling/cgroup.ts';
import { processReader } from '../../../src/sampling/proc.ts';
import { sample } from '../../../src/sampling/loop.ts';
import { EnvironmentError } from '../../../src/errors.ts';
import { Cgroup2Sim } from './cgroup2-sim.ts';
import { alive, memauditChildren, ownCgroup, waitUntil } from './helpers.ts';

// Real cgroups (children of this test's own memory cgroup) and real processes; the cgroup v2
// rules through a simulated hierarchy (this machine's memory controller is on v1).

const MiB = 1024 * 1024;
const NODE = process.execPath;

/** A node process that holds `mib` MiB of written (resident) anonymous memory, growing 4 MiB each 100 ms to it. */
const ALLOC = (mib: number) =>
  `const a=[];const t=setInterval(()=>{if(a.length*4>=${mib}){clearInterval(t);return;}a.push(Buffer.alloc(4<<20,1));},100);setInterval(()=>{},1000);`;

describe('own memory cgroup', () => {
  test('is found from /proc/self/cgroup and mountinfo, and exists', async () => {
    const own = await ownCgroup();
    expect(existsSync(own.dir)).toBe(true);
    expect(own.dir.startsWith(own.mountPoint)).toBe(true);
    const usageFile = own.version === 2 ? 'memory.current' : 'memory.usage_in_bytes';
    expect(Number(readFileSync(path.join(own.dir, usageFile), 'utf8'))).toBeGreaterThan(0);
    expect(parsePids(readFileSync(path.join(own.dir, 'cgroup.procs'), 'utf8'))).toContain(process.pid);
  });

  test('parses hybrid, pure v2 and container views', async () => {
    expect(parseProcCgroup('12:memory:/a/b\n4:cpu,cpuacct:/x\n0::/user.slice\n')).toEqual({
      v1: new Map([
        ['memory', '/a/b'],
        ['cpu', '/x'],
        ['cpuacct', '/x'],
      ]),
      v2: '/user.slice',
    });
    const mounts = parseCgroupMounts(
      [
        '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
        '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
        '30 25 0:26 /docker/abc /sys/fs/cgroup\\040x rw shared:4 - cgroup2 cgroup2 rw,nsdelegate',
        '22 1 8:1 / / rw - ext4 /dev/vda rw',
      ].join('\n'),
    );
    expect(mounts).toEqual([
      { version: 1, root: '/', mountPoint: '/sys/fs/cgroup/memory', controllers: ['memory'] },
      { version: 2, root: '/', mountPoint: '/sys/fs/cgroup/unified', controllers: [] },
      { version: 2, root: '/docker/abc', mountPoint: '/sys/fs/cgroup x', controllers: [] },
    ]);

    // A pure cgroup v2 host, as a fixture tree mirroring the real paths.
    const root = mkdtempSync(path.join(os.tmpdir(), 'memaudit-cgpath-'));
    try {
      mkdirSync(path.join(root, 'proc/self'), { recursive: true });
      mkdirSync(path.join(root, 'sys/fs/cgroup/user.slice/session-1.scope'), { recursive: true });
      writeFileSync(path.join(root, 'proc/self/cgroup'), '0::/user.slice/session-1.scope\n');
      writeFileSync(path.join(root, 'proc/self/mountinfo'), '30 25 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n');
      writeFileSync(path.join(root, 'sys/fs/cgroup/cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc\n');
      await expect(findMemoryCgroup({ root })).resolves.toEqual({
        version: 2,
        path: '/user.slice/session-1.scope',
        dir: path.join(root, 'sys/fs/cgroup/user.slice/session-1.scope'),
        mountPoint: path.join(root, 'sys/fs/cgroup'),
      });
      // This machine's shape: memory on v1, a cgroup2 without memory beside it.
      writeFileSync(path.join(root, 'sys/fs/cgroup/cgroup.controllers'), 'hugetlb\n');
      await expect(findMemoryCgroup({ root })).rejects.toThrow(/no memory controller/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('run cgroup on this machine (real kernel)', () => {
  test('is created with a limit, holds a process, and is removed with everything in it', async () => {
    const own = await ownCgroup();
    const before = memauditChildren(own.dir);
    const cg = await RunCgroup.create({ parent: own, limitBytes: 64 * MiB });
    try {
      expect(path.dirname(cg.dir)).toBe(own.dir);
      expect(existsSync(cg.dir)).toBe(true);
      const limitFile = cg.version === 2 ? 'memory.max' : 'memory.limit_in_bytes';
      expect(Number(readFileSync(path.join(cg.dir, limitFile), 'utf8'))).toBe(64 * MiB);
      // A process and its child, both in the cgroup.
      const child = spawn('/bin/sh', ['-c', 'sleep 300 & sleep 300; wait'], { stdio: 'ignore' });
      await cg.addProcess(child.pid!);
      // The process was moved after its fork; start another child that inherits the cgroup.
      const inherit = spawn('/bin/sh', ['-c', `echo $$ > ${cg.procsFile}; exec sleep 300`], { stdio: 'ignore' });
      await waitUntil(() => parsePids(readFileSync(cg.procsFile, 'utf8')).includes(inherit.pid!), 5_000, 'the second process in the cgroup');
      expect(await cg.pids()).toEqual(expect.arrayContaining([child.pid!, inherit.pid!]));
      await cg.destroy();
      expect(existsSync(cg.dir)).toBe(false);
      await waitUntil(() => !alive(inherit.pid!), 5_000, 'the process in the cgroup to be killed');
      expect(cg.removed).toBe(true);
    } finally {
      await cg.destroy();
    }
    expect(memauditChildren(own.dir).sort()).toEqual(before.sort());
  });

  test('the watchdog removes the cgroup when its owner is gone without cleaning up', async () => {
    const own = await ownCgroup();
    // The owner is a separate node process that creates the cgroup, starts a sleeper in it, then
    // dies by SIGKILL: no finally, no exit handler.
    const script = `
      const { findMemoryCgroup } = await import(${JSON.stringify(path.resolve('src/local/cgroup-path.ts'))});
      const { RunCgroup } = await import(${JSON.stringify(path.resolve('src/local/cgroup-runner.ts'))});
      const { spawn } = await import('node:child_process');
      const cg = await RunCgroup.create({ parent: await findMemoryCgroup() });
      const s = spawn('/bin/sh', ['-c', 'echo $$ > ' + cg.procsFile + '; exec sleep 300'], { stdio: 'ignore', detached: true });
      setTimeout(() => { process.stdout.write(cg.dir + ' ' + s.pid + '\\n'); }, 300);
      setInterval(() => {}, 1000);
    `;
    const owner = spawn(NODE, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve) => owner.stdout!.setEncoding('utf8').once('data', (d: string) => resolve(d.trim())));
    const [dir, sleeperPid] = line.split(' ');
    expect(existsSync(dir!)).toBe(true);
    expect(alive(Number(sleeperPid))).toBe(true);
    owner.kill('SIGKILL');
    await waitUntil(() => !existsSync(dir!), 10_000, `the watchdog to remove ${dir}`);
    await waitUntil(() => !alive(Number(sleeperPid)), 5_000, 'the sleeper to be killed');
    expect(memauditChildren(own.dir).filter((n) => n === path.basename(dir!))).toEqual([]);
  }, 30_000);

  test('the sweep removes empty cgroups of dead memaudits and nothing else', async () => {
    const own = await ownCgroup();
    // A pid that is surely dead: a process that has exited and been reaped.
    const gone = spawn('/bin/true');
    await new Promise((r) => gone.once('exit', r));
    const dead = path.join(own.dir, `memaudit-run-${gone.pid}-dead`);
    const live = path.join(own.dir, `memaudit-run-${process.pid}-live`);
    const foreign = path.join(own.dir, 'someone-else');
    for (const d of [dead, live, foreign]) mkdirSync(d);
    try {
      const removed = await sweepStale(own.dir);
      expect(removed).toEqual([dead]);
      expect(existsSync(live)).toBe(true);
      expect(existsSync(foreign)).toBe(true);
    } finally {
      for (const d of [dead, live, foreign]) if (existsSync(d)) rmdirSync(d);
    }
  });

  test('samples are the kernel numbers: anon grows as a process allocates', async () => {
    const own = await ownCgroup();
    const cg = await RunCgroup.create({ parent: own });
    try {
      const p = spawn('/bin/sh', ['-c', `echo $$ > ${cg.procsFile}; exec ${NODE} -e "${ALLOC(48)}"`], { stdio: 'ignore' });
      const r = await sample({ reader: cgroupReader(cg.dir, cg.version), intervalMs: 250, durationMs: 2_500, signal: new AbortController().signal, notice: () => undefined });
      p.kill('SIGKILL');
      expect(r.stopReason).toBe('duration');
      expect(r.samples.length).toBeGreaterThanOrEqual(9);
      const first = r.samples[0]!;
      const last = r.samples[r.samples.length - 1]!;
      expect(last.usageBytes).toBeGreaterThan(48 * MiB);
      expect(last.anonBytes! - first.anonBytes!).toBeGreaterThan(40 * MiB);
      expect(last.fileBytes).toBeDefined();
      expect(last.shmemBytes).toBeDefined();
      for (let i = 1; i < r.samples.length; i++) expect(r.samples[i]!.timestampMs).toBeGreaterThan(r.samples[i - 1]!.timestampMs);
    } finally {
      await cg.destroy();
    }
  }, 20_000);

  test('the per-process fallback sums a process tree from /proc', async () => {
    // sh -> node: the memory is in the child, the pid we know is the parent's.
    const p = spawn('/bin/sh', ['-c', `${NODE} -e "${ALLOC(32)}"; true`], { stdio: 'ignore', detached: true });
    try {
      const r = await sample({ reader: processReader(p.pid!), intervalMs: 250, durationMs: 2_500, signal: new AbortController().signal, notice: () => undefined });
      const last = r.samples[r.samples.length - 1]!;
      expect(last.rssBytes).toBeGreaterThan(32 * MiB);
      expect(last.anonBytes).toBeGreaterThan(30 * MiB);
      expect(last.fileBytes).toBeDefined();
      expect(last.shmemBytes).toBeDefined();
    } finally {
      process.kill(-p.pid!, 'SIGKILL');
    }
    // ...and says "gone" once the tree has exited.
    const q = spawn('/bin/sleep', ['0.3']);
    const r = await sample({ reader: processReader(q.pid!), intervalMs: 200, durationMs: 5_000, signal: new AbortController().signal, notice: () => undefined });
    expect(r.stopReason).toBe('gone');
  }, 20_000);
});

describe('cgroup v2 (simulated hierarchy with the kernel rules)', () => {
  const MOUNT = '/sys/fs/cgroup';
  const own = { version: 2 as const, path: '/user.slice/session-1.scope', dir: `${MOUNT}/user.slice/session-1.scope`, mountPoint: MOUNT };
  const SELF = 4242;

  test('memory already delegated: a child, nothing else changed', async () => {
    const sim = new Cgroup2Sim(MOUNT);
    sim.setup('/user.slice/session-1.scope', []);
    sim.node(own.dir)!.subtree.add('memory');
    const cg = await RunCgroup.create({ parent: own, fs: sim, selfPid: SELF, limitBytes: 64 * MiB });
    expect(sim.writes).toEqual([`user.slice/session-1.scope/${path.basename(cg.dir)}/memory.max < ${64 * MiB}`]);
    await cg.destroy();
    expect([...sim.node(own.dir)!.children.keys()]).toEqual([]);
  });

  test('an empty parent: memory is enabled for the run and disabled afterwards', async () => {
    const sim = new Cgroup2Sim(MOUNT);
    sim.setup('/user.slice/session-1.scope', []);
    const cg = await RunCgroup.create({ parent: own, fs: sim, selfPid: SELF });
    expect(sim.node(own.dir)!.subtree.has('memory')).toBe(true);
    await cg.addProcess(777);
    await cg.destroy();
    expect(sim.node(own.dir)!.subtree.has('memory')).toBe(false);
    expect(sim.node(own.dir)!.children.size).toBe(0);
  });

  test('a parent holding only memaudit: memaudit moves to a leaf, and back afterwards', async () => {
    const sim = new Cgroup2Sim(MOUNT);
    sim.setup('/user.slice/session-1.scope', [SELF]);
    const cg = await RunCgroup.create({ parent: own, fs: sim, selfPid: SELF, limitBytes: 32 * MiB });
    const scope = sim.node(own.dir)!;
    expect(scope.procs.size).toBe(0);
    expect(scope.children.get(`memaudit-self-${SELF}`)!.procs.has(SELF)).toBe(true);
    expect(scope.subtree.has('memory')).toBe(true);
    // The command goes into the run cgroup; it dies when the cgroup is destroyed.
    await cg.addProcess(999);
    await cg.destroy();
    expect(scope.procs.has(SELF)).toBe(true);
    expect(scope.subtree.has('memory')).toBe(false);
    expect([...scope.children.keys()]).toEqual([]);
  });

  test('a parent shared with other processes: refused, plainly, and nothing left behind', async () => {
    const sim = new Cgroup2Sim(MOUNT);
    sim.setup('/user.slice/session-1.scope', [SELF, 100, 101]);
    const err = await RunCgroup.create({ parent: own, fs: sim, selfPid: SELF }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvironmentError);
    expect((err as Error).message).toMatch(/no processes in a cgroup that hands memory to children.*2 other process\(es\).*systemd-run/);
    expect(sim.node(own.dir)!.children.size).toBe(0);
    expect(sim.node(own.dir)!.procs.has(SELF)).toBe(true);
  });

  test('no memory controller offered to the parent: refused', async () => {
    const sim = new Cgroup2Sim(MOUNT);
    sim.setup('/user.slice/session-1.scope', [SELF], ['cpu']);
    await expect(RunCgroup.create({ parent: own, fs: sim, selfPid: SELF })).rejects.toThrow(/memory controller is not available/);
  });

  test('never at the root of the hierarchy', async () => {
    const sim = new Cgroup2Sim(MOUNT);
    await expect(RunCgroup.create({ parent: { version: 2, path: '/', dir: MOUNT, mountPoint: MOUNT }, fs: sim, selfPid: SELF })).rejects.toThrow(/root memory cgroup/);
    expect(sim.writes).toEqual([]);
  });
});
