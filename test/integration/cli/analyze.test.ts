import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Function as PFunction, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';

/**
 * `memaudit analyze` as a user runs it: the real ./bin/memaudit (Node 24 from node_modules) in a
 * child process, on the recorded fixtures and on broken inputs.
 */
const ROOT = path.resolve(import.meta.dirname, '../../..');
const BIN = path.join(ROOT, 'bin/memaudit');
const FIX = path.join(ROOT, 'test/fixtures');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function memaudit(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(BIN, args, { cwd: ROOT, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'memaudit-cli-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const noStackTrace = (r: Run) => expect(r.stderr).not.toMatch(/\n\s+at /);

describe('memaudit analyze', () => {
  it('names the page cache, its reclaimable share and the non-reclaimable growth rate', async () => {
    const r = await memaudit('analyze', '--docker-stats', path.join(FIX, 'docker-stats/pagecache-nolimit.jsonl'), '-o', 'text');
    expect(r.code).toBe(0);
    const text = r.stdout.replace(/\s+/g, ' '); // the explanation is wrapped for the terminal
    expect(text).toMatch(/CacheGrowth/);
    expect(text).toMatch(/\d+ % of usage is page cache the kernel can reclaim/);
    expect(text).toMatch(/what it cannot reclaim grows [+-]?[\d.]+ [KMG]?i?B\/(min|h|day)/);
    expect(r.stdout).toMatch(/mem_limit: \d+m/);
  });

  it('prints the JSON contract', async () => {
    const r = await memaudit('analyze', '--cgroup', path.join(FIX, 'traces/heap-leak/trace.jsonl'), '--pprof', path.join(FIX, 'traces/heap-leak/heap-1.pb.gz'), path.join(FIX, 'traces/heap-leak/heap-3.pb.gz'), '--limit', '512m', '-o', 'json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.verdict).toBe('Leak');
    expect(j.leakSource).toBe('heap');
    expect(typeof j.explanation).toBe('string');
    expect(j.growth.anon.bytesPerHour).toBeGreaterThan(0);
    expect(j.growth.anon.r2).toBeGreaterThan(0.9);
    expect(j.timeToLimitSeconds).toBeGreaterThan(0);
    expect(j.recommendation.memoryLimitBytes).toBeLessThanOrEqual(512 * 1024 * 1024);
    expect(j.recommendation).toHaveProperty('kubernetes');
    expect(j.recommendation).toHaveProperty('compose');
    expect(j.recommendation).toHaveProperty('goMemLimit');
    expect(j.topGrowingFunctions[0].function).toBe('main.retainRequest');
  });

  it('prints YAML', async () => {
    const r = await memaudit('analyze', '--docker-stats', path.join(FIX, 'docker-stats/shm-growth.jsonl'), '-o', 'yaml');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^verdict: Leak$/m);
    expect(r.stdout).toMatch(/^leakSource: shmem$/m);
  });

  it('writes a one-file HTML report; -o anything else is a usage error naming the formats', async () => {
    const r = await memaudit('analyze', '--docker-stats', path.join(FIX, 'docker-stats/shm-growth.jsonl'), '-o', 'html');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^<!doctype html>[\s\S]*<span class="v">Leak \(shmem\)<\/span>[\s\S]*<polyline data-component="shmem"/);
    const bad = await memaudit('analyze', '--docker-stats', path.join(FIX, 'docker-stats/shm-growth.jsonl'), '-o', 'pdf');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('-o/--output: expected text, json, yaml or html, got "pdf"');
  });

  it('--fail-on gates on the verdict', async () => {
    const leak = await memaudit('analyze', '--docker-stats', path.join(FIX, 'docker-stats/heap-leak.jsonl'), '--fail-on', 'Leak', '-o', 'json');
    expect(leak.code).toBe(1);
    const cache = await memaudit('analyze', '--docker-stats', path.join(FIX, 'docker-stats/pagecache-nolimit.jsonl'), '--fail-on', 'Leak', '-o', 'json');
    expect(cache.code).toBe(0);
  });

  it('skips a truncated last line with a warning and analyses the rest', async () => {
    const lines = readFileSync(path.join(FIX, 'docker-stats/pagecache-nolimit.jsonl'), 'utf8').trimEnd().split('\n');
    const f = path.join(tmp, 'cut.jsonl');
    writeFileSync(f, lines.join('\n').slice(0, -200));
    const r = await memaudit('analyze', '--docker-stats', f, '-o', 'json');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/cut\.jsonl:\d+: .*cut short/);
    expect(JSON.parse(r.stdout).verdict).toBe('CacheGrowth');
  });

  it('names the file and line of a broken line in the middle', async () => {
    const lines = readFileSync(path.join(FIX, 'traces/pagecache-nolimit/trace.jsonl'), 'utf8').trimEnd().split('\n');
    lines[4] = lines[4]!.slice(0, 50);
    const f = path.join(tmp, 'broken.jsonl');
    writeFileSync(f, lines.join('\n') + '\n');
    const r = await memaudit('analyze', '--cgroup', f);
    expect(r.code).toBe(65);
    expect(r.stderr).toMatch(/broken\.jsonl:5: .*JSON/);
    noStackTrace(r);
  });

  it('refuses an empty file with a clear message', async () => {
    const f = path.join(tmp, 'empty.jsonl');
    writeFileSync(f, '');
    const r = await memaudit('analyze', '--docker-stats', f);
    expect(r.code).toBe(65);
    expect(r.stderr).toMatch(/empty\.jsonl: .*(empty|no stats)/);
    noStackTrace(r);
  });

  it('refuses a file that is not a heap profile', async () => {
    const r = await memaudit('analyze', '--cgroup', path.join(FIX, 'traces/heap-leak/trace.jsonl'), '--pprof', path.join(FIX, 'docker-stats/labels.json'));
    expect(r.code).toBe(65);
    expect(r.stderr).toMatch(/labels\.json: .*heap profile/);
    noStackTrace(r);
  });

  it('refuses a profile with values beyond 2^53 instead of rounding them', async () => {
    const st = new StringTable();
    const sampleType = ['alloc_space', 'inuse_space'].map((t) => new ValueType({ type: st.dedup(t), unit: st.dedup('bytes') }));
    const fn = new PFunction({ id: 1, name: st.dedup('main.leak'), systemName: 0, filename: 0 });
    const loc = new Location({ id: 1, line: [new Line({ functionId: 1, line: 10 })] });
    const p = new Profile({ sampleType, sample: [new Sample({ locationId: [1], value: [2n ** 60n, 2n ** 60n] })], location: [loc], function: [fn], stringTable: st, timeNanos: 1_700_000_000_000_000_000n });
    const f = path.join(tmp, 'huge.pb.gz');
    writeFileSync(f, gzipSync(p.encode()));
    const r = await memaudit('analyze', '--cgroup', path.join(FIX, 'traces/heap-leak/trace.jsonl'), '--pprof', f);
    expect(r.code).toBe(65);
    expect(r.stderr).toMatch(/huge\.pb\.gz: .*2\^53/);
    noStackTrace(r);
  });

  it('says which input is missing', async () => {
    const r = await memaudit('analyze', '--docker-stats', path.join(tmp, 'nope.jsonl'));
    expect(r.code).toBe(65);
    expect(r.stderr).toMatch(/nope\.jsonl: cannot read: ENOENT/);
    const u = await memaudit('analyze');
    expect(u.code).toBe(2);
    expect(u.stderr).toMatch(/exactly one of --docker-stats, --cgroup, --prometheus/);
  });
});
