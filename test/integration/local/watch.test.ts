import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { RunCgroup } from '../../../src/local/cgroup-runner.ts';
import { alive, memauditChildren, ownCgroup, report, runMemaudit, startMemaudit, waitUntil } from './helpers.ts';

// `memaudit watch` on processes and cgroups that exist before it and must be left as they were:
// real processes, real cgroups (made by the test, below its own memory cgroup, and removed after).

const DURATION = '35s';
type Outcome = Awaited<ReturnType<typeof runMemaudit>>;

let scratch: string;
const cgroups: RunCgroup[] = [];
const targets: ChildProcess[] = [];
const outcomes: Record<string, Outcome> = {};
let writerCgroup: RunCgroup;
let writer: ChildProcess;
let shmWriter: ChildProcess;
let leaky: ChildProcess;

/** Starts a command inside a cgroup (moved before exec), as a service manager would. */
function startIn(cg: RunCgroup, command: string): ChildProcess {
  const child = spawn('/bin/sh', ['-c', `echo $$ > ${cg.procsFile}; exec ${command}`], { stdio: 'ignore', detached: true });
  targets.push(child);
  return child;
}

beforeAll(async () => {
  const own = await ownCgroup();
  scratch = mkdtempSync(path.join('/var/tmp', 'memaudit-watch-'));
  writerCgroup = await RunCgroup.create({ parent: own });
  const shmCgroup = await RunCgroup.create({ parent: own });
  cgroups.push(writerCgroup, shmCgroup);
  writer = startIn(writerCgroup, `node examples/file-writer.js --dir ${scratch}`);
  shmWriter = startIn(shmCgroup, 'node examples/tmpfs-writer.js');
  // In the test's own cgroup, shared with jest: per-process data only.
  leaky = spawn('node', ['examples/leaky-service.js'], { stdio: 'ignore' });
  targets.push(leaky);
  await waitUntil(() => [writer, shmWriter, leaky].every((c) => c.pid !== undefined && alive(c.pid)), 5_000, 'the targets');
  // watch audits services that are already up: let Node's start-up allocation settle first (on a
  // loaded machine it can take seconds, and it is not what these tests are about).
  await new Promise((r) => setTimeout(r, 3_000));
  const common = ['--duration', DURATION, '--fail-on', 'Leak', '-o', 'json', '-q'];
  const [a, b, c] = await Promise.all([
    runMemaudit(['watch', '--cgroup', writerCgroup.dir, ...common]),
    runMemaudit(['watch', '--pid', String(shmWriter.pid), ...common]),
    runMemaudit(['watch', '--pid', String(leaky.pid), ...common]),
  ]);
  outcomes.cgroup = a!;
  outcomes.alonePid = b!;
  outcomes.sharedPid = c!;
}, 120_000);

afterAll(async () => {
  for (const t of targets) if (t.pid && alive(t.pid)) t.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  for (const cg of cgroups) await cg.destroy();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const explain = (o: Outcome) => `\n--- stderr:\n${o.stderr}\n--- stdout:\n${o.stdout}`;

describe('memaudit watch', () => {
  test('--cgroup DIR: the file writer is CacheGrowth, and the cgroup and process are left alone', () => {
    const o = outcomes.cgroup!;
    const r = report(o.stdout);
    expect({ verdict: r.verdict, code: o.code }).toEqual({ verdict: 'CacheGrowth', code: 0 });
    expect(r.watch).toMatchObject({ mode: 'cgroup', stopReason: 'duration' });
    expect(existsSync(writerCgroup.dir)).toBe(true);
    expect(alive(writer.pid!)).toBe(true);
  });

  test('--pid of a process alone in its cgroup: samples the cgroup; the tmpfs writer is Leak/shmem, exit 1', () => {
    const o = outcomes.alonePid!;
    const r = report(o.stdout);
    expect(`${r.verdict}/${r.leakSource}`).toBe('Leak/shmem');
    expect(o.code).toBe(1);
    expect(r.watch).toMatchObject({ mode: 'cgroup' });
    expect(o.stderr).toMatch(new RegExp(`process ${shmWriter.pid} and its children are alone in memory cgroup`));
    expect(alive(shmWriter.pid!)).toBe(true);
  });

  test('--pid of a process sharing its cgroup: per-process data, said plainly; the leak is still seen', () => {
    const o = outcomes.sharedPid!;
    const r = report(o.stdout);
    expect(`${r.verdict}/${r.leakSource}`).toBe('Leak/anon');
    expect(o.code).toBe(1);
    expect(r.watch).toMatchObject({ mode: 'process' });
    expect(o.stderr).toMatch(/shares memory cgroup .* per-process data for it alone/);
    expect(o.stderr).toMatch(/memaudit watch --cgroup \/sys\/fs\/cgroup\//);
    expect(o.stderr).toMatch(/cannot see the page cache/);
    expect(alive(leaky.pid!)).toBe(true);
  });

  test('watch creates no cgroup', async () => {
    const own = await ownCgroup();
    for (const o of Object.values(outcomes)) expect(memauditChildren(own.dir).filter((n) => n.includes(`-${o.pid}-`) || n.endsWith(`-${o.pid}`))).toEqual([]);
  });

  test('a target that exits: what was collected is analysed', async () => {
    const p = spawn('/bin/sh', ['-c', 'sleep 4'], { stdio: 'ignore' });
    const o = await runMemaudit(['watch', '--pid', String(p.pid), '--duration', '60s', '--interval', '500ms', '-o', 'json']);
    expect(o.code).toBe(0);
    const r = report(o.stdout);
    expect(r.verdict).toBe('InsufficientData');
    expect(r.watch).toMatchObject({ stopReason: 'gone' });
    expect(o.seconds).toBeLessThan(20);
    expect(o.stderr).toMatch(new RegExp(`process ${p.pid} has exited: the verdict covers what was collected`));
  }, 40_000);

  test('Ctrl-C: the report of what was collected, exit 130, the target untouched', async () => {
    const target = spawn('sleep', ['60'], { stdio: 'ignore' });
    targets.push(target);
    const w = startMemaudit(['watch', '--pid', String(target.pid), '--duration', '60s']);
    await w.waitForStderr(/\[0s\//);
    w.child.kill('SIGINT');
    const o = await w.done;
    expect(o.code).toBe(130);
    expect(o.stdout).toMatch(/^memaudit: process sleep \(pid \d+\): InsufficientData/);
    expect(alive(target.pid!)).toBe(true);
  }, 30_000);

  test('usage errors: exit 2 with one line', async () => {
    const cases: [string[], RegExp][] = [
      [['watch'], /exactly one of --pid PID or --cgroup PATH/],
      [['watch', '--pid', '1', '--cgroup', '/x'], /exactly one of/],
      [['watch', '--pid', 'abc'], /--pid expects a process id/],
      [['watch', '--pid', '999999999'], /no process 999999999/],
      [['watch', '--cgroup', '/no/such/cgroup'], /is not a memory cgroup directory/],
      [['watch', '--cgroup', '/x', '--per-process'], /--per-process goes with --pid/],
    ];
    for (const [args, re] of cases) {
      const o = await runMemaudit(args);
      expect({ args, code: o.code }).toEqual({ args, code: 2 });
      expect(o.stderr).toMatch(re);
    }
  }, 60_000);

  test.each(Object.keys({ cgroup: 1, alonePid: 1, sharedPid: 1 }))('%s run printed a parseable report', (k) => {
    const o = outcomes[k]!;
    expect(() => report(o.stdout)).not.toThrow();
    if (o.code !== 0 && o.code !== 1) throw new Error(`exit ${o.code}${explain(o)}`);
  });
});

