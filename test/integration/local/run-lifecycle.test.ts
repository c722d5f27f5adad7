import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parsePids } from '../../../src/local/cgroup-runner.ts';
import { alive, childrenOfRun, memauditChildren, ownCgroup, report, runMemaudit, startMemaudit, waitUntil } from './helpers.ts';

// The lifecycle of `memaudit run` around the verdict: Ctrl-C, SIGTERM, a second Ctrl-C, SIGKILL
// of memaudit itself, a command that exits early, usage errors, and the per-process fallback
// where no cgroup can be made. Real processes, real cgroups; no cgroup may be left behind.

let ownDir: string;
beforeAll(async () => {
  ownDir = (await ownCgroup()).dir;
});

/** Waits until the run's cgroup holds the command; returns the cgroup dir and the command's pid. */
async function runningCommand(memauditPid: number): Promise<{ dir: string; pid: number }> {
  let found: { dir: string; pid: number } | undefined;
  await waitUntil(
    () => {
      for (const name of childrenOfRun(ownDir, memauditPid)) {
        if (!name.startsWith('memaudit-run-')) continue;
        const dir = path.join(ownDir, name);
        try {
          const pids = parsePids(readFileSync(path.join(dir, 'cgroup.procs'), 'utf8'));
          if (pids.length > 0) found = { dir, pid: pids[0]! };
        } catch {
          // not yet
        }
      }
      return found !== undefined;
    },
    20_000,
    'the command to run in its cgroup',
  );
  return found!;
}

describe('memaudit run: interrupts and failures leave no cgroup behind', () => {
  test.each(['SIGINT', 'SIGTERM'] as const)('%s: the command is stopped, the cgroup removed, what was collected is analysed, exit 130', async (signal) => {
    const before = memauditChildren(ownDir);
    const r = startMemaudit(['run', '--duration', '60s', '--interval', '500ms', '--', 'node', 'examples/leaky-service.js']);
    const { dir, pid } = await runningCommand(r.pid);
    await new Promise((res) => setTimeout(res, 3_000));
    const t0 = Date.now();
    r.child.kill(signal);
    const o = await r.done;
    // Stopped on the signal, not at the end of the 60 s window (over 50 s away).
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(o.code).toBe(130);
    expect(o.stderr).toContain(`${signal}: stopping the command`);
    expect(o.stderr).toMatch(new RegExp(`interrupted by ${signal}`));
    expect(o.stdout).toMatch(/^memaudit: process node examples\/leaky-service.js: /);
    expect(existsSync(dir)).toBe(false);
    expect(alive(pid)).toBe(false);
    expect(childrenOfRun(ownDir, r.pid)).toEqual([]);
    expect(memauditChildren(ownDir).filter((n) => !before.includes(n) && n.includes(`-${r.pid}-`))).toEqual([]);
  }, 40_000);

  test('a second Ctrl-C does not wait for a command that ignores signals', async () => {
    const r = startMemaudit(['run', '--duration', '60s', '--', 'sh', '-c', 'trap "" INT TERM; while :; do sleep 1; done']);
    const { dir, pid } = await runningCommand(r.pid);
    await r.waitForStderr(/\[0s\//);
    r.child.kill('SIGINT');
    await r.waitForStderr(/SIGINT: stopping the command/);
    await new Promise((res) => setTimeout(res, 500));
    r.child.kill('SIGINT');
    const o = await r.done;
    // It quit on the second signal instead of waiting out the grace period and reporting.
    expect(o.stderr).toContain('SIGINT again, killing the command and removing its cgroup');
    expect(o.stdout).not.toMatch(/^memaudit: process/m);
    expect(o.code).toBe(130);
    expect(existsSync(dir)).toBe(false);
    await waitUntil(() => !alive(pid), 5_000, 'the command to be killed');
  }, 40_000);

  test('SIGKILL of memaudit itself: its watchdog kills the command and removes the cgroup', async () => {
    const r = startMemaudit(['run', '--duration', '60s', '--', 'node', 'examples/leaky-service.js']);
    const { dir, pid } = await runningCommand(r.pid);
    r.child.kill('SIGKILL');
    await r.done;
    await waitUntil(() => !existsSync(dir), 15_000, `the watchdog to remove ${dir}`);
    await waitUntil(() => !alive(pid), 5_000, 'the command to be killed');
  }, 40_000);

  test('a command that exits early: the collected samples are analysed and the exit is reported', async () => {
    const o = await runMemaudit(['run', '--duration', '60s', '--interval', '500ms', '-o', 'json', '--', 'sh', '-c', 'sleep 3; exit 3']);
    expect(o.code).toBe(0);
    const r = report(o.stdout);
    expect(r.verdict).toBe('InsufficientData');
    expect(r.run).toMatchObject({ stopReason: 'exited', exitCode: 3, mode: 'cgroup' });
    expect(o.stderr).toMatch(/the command exited with code 3 after \d+s/);
    expect(o.seconds).toBeLessThan(20);
    expect(existsSync((r.run as { cgroup: string }).cgroup)).toBe(false);
    expect(childrenOfRun(ownDir, o.pid)).toEqual([]);
  }, 40_000);

  test('--fail-on InsufficientData gates on that verdict too', async () => {
    const o = await runMemaudit(['run', '--duration', '2s', '--fail-on', 'Leak,InsufficientData', '-q', '--', 'sleep', '10']);
    expect(o.code).toBe(1);
    expect(o.stdout).toMatch(/InsufficientData/);
    expect(o.stderr).toMatch(/verdict InsufficientData is in --fail-on \(Leak,InsufficientData\): exit code 1/);
    expect(childrenOfRun(ownDir, o.pid)).toEqual([]);
  }, 40_000);

  test('usage errors: one line, exit 2, nothing started', async () => {
    const cases: [string[], RegExp][] = [
      [['run'], /no command given/],
      [['run', '--duration', '90x', '--', 'true'], /--duration: expected a duration/],
      [['run', '--fail-on', 'Leaky', '--', 'true'], /--fail-on: "Leaky" is not a verdict/],
      [['run', '--interval', '10s', '--duration', '5s', '--', 'true'], /--interval \(10s\) is longer than --duration/],
      [['run', '--limit', 'lots', '--', 'true'], /--limit: expected a size/],
      [['run', '--pprof', 'ftp://x', '--', 'true'], /--pprof: only http and https/],
      [['run', '-o', 'xml', '--', 'true'], /expected text, json or yaml/],
      [['run', '--bogus', '--', 'true'], /^memaudit run: unknown option --bogus; see 'memaudit run --help'$/m],
      [['run', '--', 'no-such-command-memaudit'], /no-such-command-memaudit: command not found/],
    ];
    for (const [args, re] of cases) {
      const o = await runMemaudit(args);
      expect({ args, code: o.code }).toEqual({ args, code: 2 });
      expect(o.stderr.trim().split('\n').filter((l) => /^memaudit( run)?: /.test(l))).toHaveLength(1);
      expect(o.stderr).toMatch(re);
      expect(childrenOfRun(ownDir, o.pid)).toEqual([]);
    }
  }, 120_000);

  test('--help lists the options', async () => {
    const o = await runMemaudit(['run', '--help']);
    expect(o.code).toBe(0);
    for (const opt of ['--duration', '--interval', '--limit', '--pprof', '--fail-on', '--output', '--record', '--headroom', '--quiet']) expect(o.stdout).toContain(opt);
  });

  test('--record writes the cgroup snapshots that memaudit analyze reads', async () => {
    const file = path.join('/var/tmp', `memaudit-record-${process.pid}.jsonl`);
    try {
      const o = await runMemaudit(['run', '--duration', '3s', '--interval', '500ms', '--record', file, '-q', '--', 'sleep', '10']);
      expect(o.code).toBe(0);
      const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.length).toBeGreaterThanOrEqual(6);
      for (const l of lines) {
        expect(l).toMatchObject({ version: expect.any(Number), usage: expect.any(Number), stat: expect.any(Object) });
        expect(Number.isNaN(Date.parse(l.ts as string))).toBe(false);
      }
      // ...in the format `memaudit analyze --cgroup FILE` reads.
      const a = await runMemaudit(['analyze', '--cgroup', file, '-o', 'json']);
      expect(a.code).toBe(0);
      expect(report(a.stdout).window).toMatchObject({ samples: lines.length });
    } finally {
      execFileSync('rm', ['-f', file]);
    }
  }, 30_000);
});

describe('memaudit run without a cgroup (an unprivileged user)', () => {
  const asNobody = (args: string[]) => ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...args];
  test('says so plainly and falls back to per-process data, which still sees an anonymous leak', async () => {
    const { spawn } = await import('node:child_process');
    const [cmd, ...rest] = asNobody([path.resolve('bin/memaudit'), 'run', '--duration', '35s', '--fail-on', 'Leak', '-o', 'json', '-q', '--', 'node', 'examples/leaky-service.js']);
    const child = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((res) => child.once('close', res));
    expect(stderr).toMatch(/no memory cgroup for the command: cannot create a memory cgroup in .*EACCES/);
    expect(stderr).toMatch(/falling back to per-process data\. Per-process data .* cannot see the page cache/);
    const r = report(stdout);
    expect(r.run).toMatchObject({ mode: 'process', cgroup: null });
    expect(`${r.verdict}/${r.leakSource}`).toBe('Leak/anon');
    expect(code).toBe(1);
  }, 60_000);

  test('--limit without a cgroup is an error, not silently ignored', async () => {
    let code = 0;
    let stderr = '';
    try {
      execFileSync(asNobody([]).join(' ') + ` ${path.resolve('bin/memaudit')} run --limit 64m -- true`, { shell: '/bin/sh', stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      code = (e as { status: number }).status;
      stderr = String((e as { stderr: Buffer }).stderr);
    }
    expect(code).toBe(69);
    expect(stderr).toMatch(/--limit needs a memory cgroup/);
  }, 30_000);
});
