import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Function as PFunction, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { heapDiff } from '../../../src/analysis/heap-diff.ts';
import { expectInputError } from '../../helpers/errors.ts';
import { decodeHeapProfile, readHeapProfileFile } from '../../../src/sources/pprof.ts';

const DIR = path.join(import.meta.dirname, '../../fixtures/pprof');
const fixture = (name: string) => path.join(DIR, name);

/** A minimal heap-shaped profile built with pprof-format's encoder. */
function encodeHeap(values: (number | bigint)[], types = ['alloc_space', 'inuse_space']): Uint8Array {
  const st = new StringTable();
  const sampleType = types.map((t) => new ValueType({ type: st.dedup(t), unit: st.dedup('bytes') }));
  const fn = new PFunction({ id: 1, name: st.dedup('main.leak'), systemName: 0, filename: 0 });
  const loc = new Location({ id: 1, line: [new Line({ functionId: 1, line: 10 })] });
  const sample = values.map((v) => new Sample({ locationId: [1], value: types.map(() => v) }));
  const p = new Profile({ sampleType, sample, location: [loc], function: [fn], stringTable: st, timeNanos: 1_700_000_000_123_456_789n });
  return gzipSync(p.encode());
}

describe('real heap profiles of test/apps/heapleak (captured over HTTP)', () => {
  // Totals cross-checked with `go tool pprof -top -unit=B -sample_index=inuse_space|alloc_space`.
  it('decodes in-use and allocated totals, flat and cumulative per function, and the profile time', async () => {
    const p1 = await readHeapProfileFile(fixture('heapleak-1.pb.gz'));
    expect(Math.floor(p1.timestampMs / 1000) * 1000).toBe(Date.UTC(2026, 10, 27, 22, 23, 0));
    expect(p1.totalInuseBytes).toBe(2130090);
    expect(p1.totalAllocBytes).toBe(2654442);
    expect(p1.flatInuseBytes.get('main.retainRequest')).toBe(2130090);
    expect(p1.cumInuseBytes.get('main.main')).toBe(2130090);
    expect(p1.cumInuseBytes.get('memaudit.local/apps/internal/target.Paced')).toBe(2130090);
    expect(p1.flatInuseBytes.has('main.main')).toBe(false);
    const p2 = await readHeapProfileFile(fixture('heapleak-2.pb.gz'));
    expect(p2.totalInuseBytes).toBe(10117930);
    expect(p2.totalAllocBytes).toBe(12124268);
    expect(p2.timestampMs - p1.timestampMs).toBeGreaterThanOrEqual(9000);
  });

  it('heapDiff names the leaking call site the heapleak program documents', async () => {
    const [p1, p2] = await Promise.all([readHeapProfileFile(fixture('heapleak-1.pb.gz')), readHeapProfileFile(fixture('heapleak-2.pb.gz'))]);
    const top = heapDiff(p1, p2, 3);
    expect(top[0]).toEqual({ function: 'main.retainRequest', firstInuseBytes: 2130090, lastInuseBytes: 10117930, growthBytes: 10117930 - 2130090, cumulativeGrowthBytes: 10117930 - 2130090 });
  });
});

describe('inputs that are not a Go heap profile', () => {
  it('rejects a truncated gzip, naming the file and what was expected', () => {
    const whole = readFileSync(fixture('heapleak-2.pb.gz'));
    expectInputError(() => decodeHeapProfile(whole.subarray(0, Math.floor(whole.length / 2)), { source: 'heap.pb.gz' }), /^heap\.pb\.gz: truncated or corrupt gzip .*expected a Go heap profile from \/debug\/pprof\/heap/);
  });

  it('rejects the debug=1 text form, HTML and other text with a hint', () => {
    const text = readFileSync(fixture('heapleak-debug1.txt'));
    expectInputError(() => decodeHeapProfile(text, { source: 'heap.txt' }), /^heap\.txt: this is the text form of a heap profile \(\/debug\/pprof\/heap\?debug=1\)/);
    expectInputError(() => decodeHeapProfile(Buffer.from('<!DOCTYPE html><html><body>Login</body></html>'), { source: 'h' }), /^h: this is HTML/);
    expectInputError(() => decodeHeapProfile(Buffer.from('{"heap": 1}\n'), { source: 'j' }), /^j: this is a text file/);
  });

  it('rejects an empty file', () => {
    expectInputError(() => decodeHeapProfile(new Uint8Array(0), { source: 'empty.pb.gz' }), /^empty\.pb\.gz: empty file: expected a Go heap profile/);
  });

  it('rejects a CPU profile: no inuse_space sample type', () => {
    expectInputError(() => decodeHeapProfile(encodeHeap([1], ['samples', 'cpu']), { source: 'cpu.pb.gz' }), /^cpu\.pb\.gz: no inuse_space sample type \(found: samples, cpu\)/);
  });

  it('names the gunzip limit when a profile decompresses past it', () => {
    const gz = readFileSync(fixture('heapleak-2.pb.gz'));
    expectInputError(() => decodeHeapProfile(gz, { source: 'big.pb.gz', maxDecompressedBytes: 256 }), /^big\.pb\.gz: the decompressed profile is larger than the 256-byte limit \(maxDecompressedBytes\)/);
  });
});

describe('values beyond 2^53', () => {
  it('refuses a sample value beyond Number.MAX_SAFE_INTEGER instead of rounding it', () => {
    expectInputError(() => decodeHeapProfile(encodeHeap([2n ** 60n + 1n]), { source: 'huge.pb.gz' }), /^huge\.pb\.gz: sample\[0\] (alloc|inuse)_space = 1152921504606846977 is beyond 2\^53 - 1/);
  });

  it('refuses sums that would leave the exact range, and keeps exact values below it', () => {
    expectInputError(() => decodeHeapProfile(encodeHeap([2 ** 52, 2 ** 52]), { source: 's' }), /exceeds 2\^53 - 1 bytes/);
    const ok = decodeHeapProfile(encodeHeap([2 ** 52, 2 ** 52 - 1]), { source: 's' });
    expect(ok.totalInuseBytes).toBe(Number.MAX_SAFE_INTEGER);
    expect(ok.flatInuseBytes.get('main.leak')).toBe(Number.MAX_SAFE_INTEGER);
    // time_nanos 1_700_000_000_123_456_789 is itself beyond 2^53: divided in bigint, it is exact
    expect(ok.timestampMs).toBe(1_700_000_000_123);
  });
});

describe('a LARGE real profile (test/fixtures/pprof/gen/make-large.sh)', () => {
  // The benchmark's 60000-allocation profile when it has been generated; otherwise a 20000-allocation
  // one made here (a Go build and run, a few seconds; Go is a test dependency, hack/install-deps.sh).
  const fixtureLarge = fixture('large-heap.pb.gz');
  let large = fixtureLarge;
  let tmp: string | undefined;
  beforeAll(() => {
    if (existsSync(fixtureLarge)) return;
    tmp = mkdtempSync(path.join(tmpdir(), 'memaudit-pprof-'));
    large = path.join(tmp, 'large-heap.pb.gz');
    execFileSync(path.join(DIR, 'gen/make-large.sh'), [large, '3000', '20000'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 170_000 });
  }, 180_000);
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });
  it('decodes tens of thousands of samples over thousands of functions', () => {
    const p = decodeHeapProfile(readFileSync(large), { source: large });
    expect(p.cumInuseBytes.size).toBeGreaterThan(3000);
    expect(p.flatInuseBytes.get('main.step')).toBeGreaterThan(0);
    // every path allocates in step, so its cumulative bytes are exactly its flat bytes
    expect(p.cumInuseBytes.get('main.step')).toBe(p.flatInuseBytes.get('main.step'));
    expect(p.totalInuseBytes).toBeGreaterThanOrEqual(p.flatInuseBytes.get('main.step')!);
  }, 180_000);
});

describe('impossible heap profiles', () => {
  it('refuses negative in-use bytes (a diff of two profiles, not a heap profile)', () => {
    expectInputError(() => decodeHeapProfile(encodeHeap([-4096]), { source: 'neg.pb.gz' }), /^neg\.pb\.gz: sample\[0\] inuse_space = -4096 is negative/);
  });

  it('refuses a time_nanos that is not a plausible time, when told what now is', () => {
    // encodeHeap writes 2023-11-14 (1.7e18 ns); "now" in 2020 puts it years in the future.
    expectInputError(() => decodeHeapProfile(encodeHeap([1]), { source: 'f.pb.gz', nowMs: Date.UTC(2020, 0, 1) }), /^f\.pb\.gz: time_nanos 1700000000123456789: 2023-11-14T22:13:20\.123Z: a sample time must be after 2000-01-01 and at most a day after now/);
    expect(decodeHeapProfile(encodeHeap([1]), { source: 'ok', nowMs: Date.UTC(2026, 0, 1) }).timestampMs).toBe(1_700_000_000_123);
  });
});
