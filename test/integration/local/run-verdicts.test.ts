import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { alive, buildApps, childrenOfRun, freePort, ownCgroup, report, runMemaudit } from './helpers.ts';

// `memaudit run` on real programs in real cgroups: the Go audit targets (test/apps) and the
// Node-only examples. Every run is 40 s of 1 s samples at rates that make each case clear, with
// `--fail-on Leak`, so the exit code is checked against the verdict in the same runs. The runs go
// at the same time (they mostly sleep between samples), so the file takes about one run's time.

const DURATION = '40s';
const MiB = 1024 * 1024;

interface Case {
  name: string;
  command: (ctx: { bin: string; port: number; scratch: string }) => string[];
  pprof?: boolean;
  limit?: string;
  expectVerdict: (verdict: string, leakSource: string | null) => void;
  /** Files the target leaves only if cleanup fails (tmpfs). */
  leftovers?: (pid: number) => string[];
}

const CASES: Case[] = [
  {
    name: 'Go filesaver (a listener saving every message to a file): CacheGrowth',
    command: ({ bin, port, scratch }) => [path.join(bin, 'filesaver'), '-dir', path.join(scratch, 'fs'), '-selfload', '500', '-size', '4096', '-pprof', `127.0.0.1:${port}`],
    pprof: true,
    expectVerdict: (v) => expect(v).toBe('CacheGrowth'),
  },
  {
    name: 'Go filesaver under --limit 48m (the kernel reclaims the cache at the limit): not a Leak',
    command: ({ bin, port, scratch }) => [path.join(bin, 'filesaver'), '-dir', path.join(scratch, 'fs-limit'), '-selfload', '500', '-size', '4096', '-pprof', `127.0.0.1:${port}`],
    pprof: true,
    limit: '48m',
    expectVerdict: (v) => expect(['CacheGrowth', 'Stable', 'Plateau']).toContain(v),
  },
  {
    name: 'Go heapleak with --pprof: Leak/heap',
    command: ({ bin, port }) => [path.join(bin, 'heapleak'), '-rate', String(MiB), '-pprof', `127.0.0.1:${port}`],
    pprof: true,
    expectVerdict: (v, s) => expect(`${v}/${s}`).toBe('Leak/heap'),
  },
  {
    name: 'Go mmapleak with --pprof: Leak/offHeap',
    command: ({ bin, port }) => [path.join(bin, 'mmapleak'), '-rate', String(MiB), '-pprof', `127.0.0.1:${port}`],
    pprof: true,
    expectVerdict: (v, s) => expect(`${v}/${s}`).toBe('Leak/offHeap'),
  },
  {
    name: 'Go tmpfswriter (/dev/shm): Leak/shmem',
    command: ({ bin }) => [path.join(bin, 'tmpfswriter'), '-dir', '/dev/shm', '-rate', String(MiB)],
    expectVerdict: (v, s) => expect(`${v}/${s}`).toBe('Leak/shmem'),
    leftovers: (pid) => [`/dev/shm/tmpfswriter-${pid}`],
  },
  {
    name: 'examples/file-writer.js: CacheGrowth',
    command: ({ scratch }) => ['node', 'examples/file-writer.js', '--dir', path.join(scratch, 'fw')],
    expectVerdict: (v) => expect(v).toBe('CacheGrowth'),
  },
  {
    name: 'examples/leaky-service.js: Leak/anon',
    command: () => ['node', 'examples/leaky-service.js'],
    expectVerdict: (v, s) => expect(`${v}/${s}`).toBe('Leak/anon'),
  },
  {
    name: 'examples/tmpfs-writer.js: Leak/shmem',
    command: () => ['node', 'examples/tmpfs-writer.js'],
    expectVerdict: (v, s) => expect(`${v}/${s}`).toBe('Leak/shmem'),
    leftovers: (pid) => [`/dev/shm/tmpfs-writer-${pid}`],
  },
];

type Outcome = Awaited<ReturnType<typeof runMemaudit>>;
const outcomes = new Map<string, Outcome>();
let scratch: string;
let ownDir: string;

beforeAll(async () => {
  const bin = await buildApps();
  ownDir = (await ownCgroup()).dir;
  // Disk-backed scratch space: the page cache case must not write to a tmpfs.
  scratch = mkdtempSync(path.join('/var/tmp', 'memaudit-run-verdicts-'));
  await Promise.all(
    CASES.map(async (c) => {
      const port = await freePort();
      const args = ['run', '--duration', DURATION, '--interval', '1s', '--fail-on', 'Leak', '-o', 'json', '-q'];
      if (c.pprof) args.push('--pprof', `http://127.0.0.1:${port}`);
      if (c.limit) args.push('--limit', c.limit);
      outcomes.set(c.name, await runMemaudit([...args, '--', ...c.command({ bin, port, scratch })]));
    }),
  );
}, 240_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe.each(CASES)('memaudit run: $name', (c) => {
  test('gives the verdict, exit code 1 exactly for Leak (--fail-on Leak), and leaves nothing behind', () => {
    const o = outcomes.get(c.name);
    expect(o).toBeDefined();
    const r = report(o!.stdout);
    try {
      c.expectVerdict(r.verdict, r.leakSource);
      expect(o!.code).toBe(r.verdict === 'Leak' ? 1 : 0);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- memaudit stderr:\n${o!.stderr}\n--- explanation: ${String(r.explanation)}`, { cause: e });
    }
    const run = r.run as { mode: string; cgroup: string; pid: number; stopReason: string; limitBytes: number | null };
    expect(run.mode).toBe('cgroup');
    expect(run.stopReason).toBe('duration');
    expect(path.dirname(run.cgroup)).toBe(ownDir);
    expect(existsSync(run.cgroup)).toBe(false);
    expect(childrenOfRun(ownDir, o!.pid)).toEqual([]);
    expect(alive(run.pid)).toBe(false);
    if (c.limit) expect(run.limitBytes).toBe(48 * MiB);
    for (const f of c.leftovers?.(run.pid) ?? []) expect(existsSync(f)).toBe(false);
  });
});

test('the Go heap leak names its allocation site', () => {
  const r = report(outcomes.get(CASES[2]!.name)!.stdout);
  expect((r.topGrowingFunctions as { function: string }[]).map((f) => f.function)).toContain('main.retainRequest');
});

