import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** A recorded line as JSON, loosely: the edits below change one field of it. */
type JsonLine = { [k: string]: unknown; memory_stats: { [k: string]: unknown; stats: Record<string, unknown> } };

describe('memaudit analyze on data that is wrong: exit 65 naming file, line and field, never a verdict', () => {
  const dockerLines = () => readFileSync(path.join(FIX, 'docker-stats/heap-leak.jsonl'), 'utf8').trimEnd().split('\n');
  const cgroupLines = () => readFileSync(path.join(FIX, 'traces/heap-leak/trace.jsonl'), 'utf8').trimEnd().split('\n');
  /** A copy of `lines` with line `i` (0-based) edited, written to tmp/name. */
  function writeEdited(name: string, lines: string[], i: number, edit: (o: JsonLine) => unknown): string {
    const out = [...lines];
    out[i] = JSON.stringify(edit(JSON.parse(out[i]!)));
    const f = path.join(tmp, name);
    writeFileSync(f, out.join('\n') + '\n');
    return f;
  }
  const bad = async (args: string[], re: RegExp) => {
    const r = await memaudit('analyze', ...args, '-o', 'json');
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(re);
    expect(r.code).toBe(65);
    noStackTrace(r);
  };

  it.each([
    ['negative usage', (o: JsonLine) => ({ ...o, memory_stats: { ...o.memory_stats, usage: -1 } }), /d1\.jsonl:10: memory_stats\.usage must not be negative/],
    ['"stats": "oops"', (o: JsonLine) => ({ ...o, memory_stats: { ...o.memory_stats, stats: 'oops' } }), /d2\.jsonl:10: memory_stats\.stats must be an object/],
    ['all-negative total_rss', (o: JsonLine) => ({ ...o, memory_stats: { ...o.memory_stats, stats: { ...o.memory_stats.stats, total_rss: -5_000_000 } } }), /d3\.jsonl:10: memory_stats\.stats\.total_rss must not be negative/],
    ['rss above usage', (o: JsonLine) => ({ ...o, memory_stats: { ...o.memory_stats, stats: { ...o.memory_stats.stats, total_rss: 2 ** 33 } } }), /d4\.jsonl:10: memory_stats\.stats\.total_rss: 8589934592 bytes is above memory_stats\.usage/],
    ['usage of 1e300', (o: JsonLine) => ({ ...o, memory_stats: { ...o.memory_stats, usage: 1e300 } }), /d5\.jsonl:10: memory_stats\.usage 1e\+300 bytes is not a plausible memory size/],
    ['a time in the year 9999', (o: JsonLine) => ({ ...o, read: '9999-12-31T23:59:59Z' }), /d6\.jsonl:10: field "read" "9999-12-31T23:59:59Z"/],
    ['a time an hour back', (o: JsonLine) => ({ ...o, read: '2026-11-27T21:19:20Z' }), /d7\.jsonl:10: field "read": time 2026-11-27T21:19:20\.000Z goes back/],
  ])('Docker stats with %s', async (_what, edit, re) => {
    const n = ['negative usage', '"stats": "oops"', 'all-negative total_rss', 'rss above usage', 'usage of 1e300', 'a time in the year 9999', 'a time an hour back'].indexOf(_what) + 1;
    await bad(['--docker-stats', writeEdited(`d${n}.jsonl`, dockerLines(), 9, edit)], re);
  });

  it.each([
    ['"stat": [1,2]', (o: JsonLine) => ({ ...o, stat: [1, 2] }), /c1\.jsonl:4: field "stat" must be memory\.stat as an object of numbers or its raw text, got an array/],
    ['a time of 0', (o: JsonLine) => ({ ...o, ts: 0 }), /c2\.jsonl:4: field "ts": 0 read as seconds since the epoch is 1970-01-01/],
    ['nanoseconds', (o: JsonLine) => ({ ...o, ts: Date.parse(o.ts as string) * 1e6 }), /c3\.jsonl:4: field "ts": .* it looks like nanoseconds since the epoch/],
    ['usage far above the limit', (o: JsonLine) => ({ ...o, limit: 2 ** 20 }), /c4\.jsonl:4: usage: \d+ bytes is above limit \(1048576 bytes\)/],
  ])('cgroup recording with %s', async (what, edit, re) => {
    const n = ['"stat": [1,2]', 'a time of 0', 'nanoseconds', 'usage far above the limit'].indexOf(what) + 1;
    await bad(['--cgroup', writeEdited(`c${n}.jsonl`, cgroupLines(), 3, edit)], re);
  });

  it('Prometheus values "" and "0x10", naming the series and index', async () => {
    const T0 = 1_764_500_000;
    const resp = (v: string) => ({ status: 'success', data: { resultType: 'matrix', result: [{ metric: { __name__: 'container_memory_usage_bytes', namespace: 'ns', pod: 'p', container: 'app' }, values: [[T0, '100'], [T0 + 15, v]] }] } });
    for (const [i, v] of ['', '0x10'].entries()) {
      const f = path.join(tmp, `p${i}.json`);
      writeFileSync(f, JSON.stringify(resp(v)));
      await bad(['--prometheus', f], new RegExp(`p${i}\\.json: response\\[0\\]\\.data\\.result\\[0\\] \\(container_memory_usage_bytes of ns/p/app\\)\\.values\\[1\\]: value ${JSON.stringify(v).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a decimal number`));
    }
  });

  it('a Docker stream of two containers names them; --container picks one', async () => {
    const a = dockerLines().slice(0, 40);
    const b = readFileSync(path.join(FIX, 'docker-stats/gc-churn.jsonl'), 'utf8').trimEnd().split('\n').slice(0, 40);
    const f = path.join(tmp, 'two.jsonl');
    writeFileSync(f, a.flatMap((l, i) => [l, b[i]!]).join('\n') + '\n');
    await bad(['--docker-stats', f], /two\.jsonl: the stream holds the stats of 2 containers \(memaudit-rec-heap-leak \([0-9a-f]{12}\), 40 object\(s\) from line 1; memaudit-rec-gc-churn \([0-9a-f]{12}\), 40 object\(s\) from line 2\); pick one with --container NAME\|ID/);
    const one = await memaudit('analyze', '--docker-stats', f, '--container', 'memaudit-rec-heap-leak', '-o', 'json');
    expect(one.code).toBe(0);
    const j = JSON.parse(one.stdout);
    expect(j.target.name).toBe('memaudit-rec-heap-leak');
    expect(j.window.samples).toBe(40);
  });

  it('refuses a FIFO as a recording and /dev/zero as a profile, at once', async () => {
    const fifo = path.join(tmp, 'stats.fifo');
    execFileSync('mkfifo', [fifo]);
    await bad(['--docker-stats', fifo], /stats\.fifo: is a FIFO \(named pipe\); a Docker stats recording must be a regular file/);
    await bad(['--cgroup', path.join(FIX, 'traces/heap-leak/trace.jsonl'), '--pprof', '/dev/zero'], /\/dev\/zero: is a character device; a heap profile must be a regular file/);
  });
});

describe('memaudit analyze: pipes and terminals', () => {
  /** Runs memaudit with its stdout closed by the reader before anything is written. */
  function withClosedStdout(...args: string[]): Promise<Run> {
    return new Promise((resolve) => {
      const child = spawn(BIN, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy(); // like `| head -0`: the reader is gone
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code: code ?? -1, stdout: '', stderr }));
    });
  }

  it('a closed stdout ends quietly with the verdict\'s exit code', async () => {
    const ok = await withClosedStdout('analyze', '--docker-stats', path.join(FIX, 'docker-stats/pagecache-nolimit.jsonl'));
    expect(ok.code).toBe(0);
    expect(ok.stderr).toBe('');
    const gated = await withClosedStdout('analyze', '--docker-stats', path.join(FIX, 'docker-stats/heap-leak.jsonl'), '--fail-on', 'Leak');
    expect(gated.code).toBe(1);
    expect(gated.stderr).toBe('memaudit: verdict Leak/anon is in --fail-on (Leak): exit code 1\n');
  });

  it('escapes control characters from the input in text output and messages; JSON stays valid', async () => {
    const evil = '/\u001b]0;pwned\u0007\u001b[31mweb\u202e';
    const lines = readFileSync(path.join(FIX, 'docker-stats/heap-leak.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.stringify({ ...JSON.parse(l), name: evil }));
    const f = path.join(tmp, 'evil.jsonl');
    writeFileSync(f, lines.join('\n') + '\n');
    const text = await memaudit('analyze', '--docker-stats', f);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('memaudit: container \\x1b]0;pwned\\x07\\x1b[31mweb\\u{202e}: Leak');
    // eslint-disable-next-line no-control-regex
    expect(text.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f\u202e]/);
    const json = await memaudit('analyze', '--docker-stats', f, '-o', 'json');
    expect(JSON.parse(json.stdout).target.name).toBe(evil.slice(1));
    const named = path.join(tmp, 'bad\u001b[2Jname.jsonl');
    writeFileSync(named, 'not json\n');
    const err = await memaudit('analyze', '--cgroup', named);
    expect(err.code).toBe(65);
    expect(err.stderr).toContain('bad\\x1b[2Jname.jsonl:1: not a JSON cgroup snapshot');
    expect(err.stderr).not.toContain('\u001b');
  });
});

describe('memaudit analyze --docker-stats with heap profiles only (no MemStats), as users record them', () => {
  const D = path.join(FIX, 'docker-stats');
  const profiles = (dir: string) => readdirSync(path.join(D, dir)).sort().map((f) => path.join(D, dir, f));
  const json = async (...args: string[]) => {
    const r = await memaudit('analyze', ...args, '-o', 'json');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as { verdict: string; leakSource: string | null; explanation: string; topGrowingFunctions: { function: string }[] };
  };

  it('a Go heap leak is Leak/heap naming the function; two profiles give the verdict eleven give', async () => {
    const all = profiles('heap-leak-pprof.pprof');
    expect(all.length).toBeGreaterThanOrEqual(10);
    const many = await json('--docker-stats', path.join(D, 'heap-leak-pprof.jsonl'), '--pprof', ...all);
    const two = await json('--docker-stats', path.join(D, 'heap-leak-pprof.jsonl'), '--pprof', all[0]!, all[all.length - 1]!);
    for (const r of [many, two]) {
      expect(`${r.verdict}/${r.leakSource}`).toBe('Leak/heap');
      expect(r.topGrowingFunctions[0]!.function).toBe('main.retainRequest');
      expect(r.explanation).not.toMatch(/Add heap profiles/);
    }
  });

  it('an mmap leak under a flat in-use heap is Leak/offHeap, and says the heap is flat', async () => {
    const all = profiles('mmap-leak-pprof.pprof');
    const two = await json('--docker-stats', path.join(D, 'mmap-leak-pprof.jsonl'), '--pprof', all[0]!, all[all.length - 1]!);
    expect(`${two.verdict}/${two.leakSource}`).toBe('Leak/offHeap');
    expect(two.explanation).toMatch(/while the Go heap in use is flat/);
  });
});

describe('memaudit analyze on a recording with a gap', () => {
  it('an hour without samples in the middle of a leak: still a Leak, the gap named in the evidence and in window.gaps', async () => {
    // Derived from the real heap-leak stream: its second half moved an hour later, as when the
    // container was paused (no growth meanwhile) or the recorder was away.
    const lines = readFileSync(path.join(FIX, 'docker-stats/heap-leak.jsonl'), 'utf8').trimEnd().split('\n');
    const half = Math.floor(lines.length / 2);
    const shifted = lines.map((l, i) => {
      if (i < half) return l;
      const o = JSON.parse(l) as { read: string; preread: string };
      return JSON.stringify({ ...o, read: new Date(Date.parse(o.read) + 3_600_000).toISOString(), preread: new Date(Date.parse(o.preread) + 3_600_000).toISOString() });
    });
    const f = path.join(tmp, 'gap.jsonl');
    writeFileSync(f, shifted.join('\n') + '\n');
    const r = await memaudit('analyze', '--docker-stats', f, '-o', 'json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { verdict: string; window: { gaps: { seconds: number }[] }; evidence: string[] };
    expect(j.verdict).toBe('Leak');
    expect(j.window.gaps).toHaveLength(1);
    expect(j.window.gaps[0]!.seconds).toBeGreaterThan(3600);
    expect(j.evidence.join('\n')).toMatch(/no samples for 60m from .*: trends are fitted on the sampled time, the gap closed/);
  });
});
