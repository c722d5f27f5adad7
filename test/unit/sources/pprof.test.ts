import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Function as PFunction, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { heapDiff } from '../../../src/analysis/heap-diff.ts';
import { expectInputError } from '../../helpers/errors.ts';
import { referenceDecode } from '../../helpers/pprof-reference.ts';
import { lfield, packed, pb, varint, vfield } from '../../helpers/proto-writer.ts';
import { decodeHeapProfile, readHeapProfileFile } from '../../../src/sources/pprof.ts';

const FIXTURES = path.join(import.meta.dirname, '../../fixtures');
const DIR = path.join(FIXTURES, 'pprof');
const fixture = (name: string) => path.join(DIR, name);

/** Every heap profile under test/fixtures: pprof/, traces/, the held-out sets (read for equality only: nothing is tuned on them). */
function fixtureProfiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(dir, e.name));
      else if (e.name.endsWith('.pb.gz')) out.push(path.join(dir, e.name));
    }
  };
  walk(FIXTURES);
  return out.sort();
}

/** The whole HeapProfile, the Maps' order included (the controller's reduceProfile keeps ties in it). */
const comparable = (p: ReturnType<typeof decodeHeapProfile>) => ({ ...p, flatInuseBytes: [...p.flatInuseBytes], cumInuseBytes: [...p.cumInuseBytes] });

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

describe('the one-walk decoder gives what pprof-format + the old reduction gave (test/helpers/pprof-reference.ts)', () => {
  const files = fixtureProfiles();
  it('finds the fixtures: pprof/, traces/ and the held-out sets', () => {
    expect(files.length).toBeGreaterThanOrEqual(100);
    expect(files.some((f) => f.includes('/heldout/'))).toBe(true);
    expect(files.some((f) => f.includes('/traces/'))).toBe(true);
  });
  it.each(files.map((f) => [path.relative(FIXTURES, f), f]))('%s', (_name, file) => {
    const bytes = readFileSync(file);
    expect(comparable(decodeHeapProfile(bytes, { source: file }))).toEqual(comparable(referenceDecode(bytes, { source: file })));
  });
});

describe('profile layouts Go and other writers use', () => {
  // Strings: 0 "", 1 alloc_space, 2 inuse_space, 3 bytes, 4 main.a, 5 main.b, 6 main.c
  const strings = ['', 'alloc_space', 'inuse_space', 'bytes', 'main.a', 'main.b', 'main.c'].flatMap((s) => pb.string(s));
  const types = [...pb.sampleType(1, 3), ...pb.sampleType(2, 3)];
  const functions = [...pb.function(1, 4), ...pb.function(2, 5), ...pb.function(3, 6)];
  const gz = (parts: number[][]) => gzipSync(Uint8Array.from(parts.flat()));
  const T = pb.timeNanos(1_700_000_000_000_000_000n);

  it('reads samples written before the locations, functions and sample types they refer to (any field order)', () => {
    const p = decodeHeapProfile(gz([pb.sample([1, 2], [10, 4]), strings, pb.location(1, [1]), pb.location(2, [2]), functions, types, T]), { source: 'x' });
    expect([...p.flatInuseBytes]).toEqual([['main.a', 4]]);
    expect([...p.cumInuseBytes]).toEqual([
      ['main.a', 4],
      ['main.b', 4],
    ]);
    expect(p.totalAllocBytes).toBe(10);
  });

  it('reads unpacked location ids and values (Go packs only lists longer than two)', () => {
    const body = [types, pb.sampleUnpacked([1], [7, 5]), pb.sample([2, 1], [3, 3]), pb.location(1, [1]), pb.location(2, [2]), functions, strings, T];
    const p = decodeHeapProfile(gz(body), { source: 'x' });
    expect(Object.fromEntries(p.flatInuseBytes)).toEqual({ 'main.a': 5, 'main.b': 3 });
    expect(Object.fromEntries(p.cumInuseBytes)).toEqual({ 'main.a': 8, 'main.b': 3 });
    expect(comparable(p)).toEqual(comparable(referenceDecode(gz(body), { source: 'x' })));
  });

  it('counts a recursive function once per sample, and inlined frames: flat to the innermost, cumulative to each', () => {
    // location 1 holds main.a inlined into main.b; location 2 is main.a again (recursion)
    const p = decodeHeapProfile(gz([types, pb.sample([1, 2, 3], [9, 9]), pb.location(1, [1, 2]), pb.location(2, [1]), pb.location(3, [3]), functions, strings, T]), { source: 'x' });
    expect([...p.flatInuseBytes]).toEqual([['main.a', 9]]);
    expect(Object.fromEntries(p.cumInuseBytes)).toEqual({ 'main.a': 9, 'main.b': 9, 'main.c': 9 });
  });

  it('names a location without lines, or with an unknown function, by its address', () => {
    const p = decodeHeapProfile(gz([types, pb.sample([1, 2], [8, 8]), pb.location(1, [], 0x4a2f10), pb.location(2, [99], 0xffffffffff600000), functions, strings, T]), { source: 'x' });
    expect([...p.flatInuseBytes]).toEqual([['0x4a2f10', 8]]);
    expect([...p.cumInuseBytes.keys()]).toEqual(['0x4a2f10', '0xffffffffff600000']);
  });

  it('sums two function ids with the same name under that name', () => {
    const p = decodeHeapProfile(gz([types, pb.sample([1], [2, 2]), pb.sample([2], [3, 3]), pb.location(1, [1]), pb.location(2, [7]), functions, pb.function(7, 4), strings, T]), { source: 'x' });
    expect([...p.flatInuseBytes]).toEqual([['main.a', 5]]);
  });

  it('skips what a heap diff does not need: labels, mappings, comments, fixed-width fields of other writers', () => {
    const label = lfield(3, [...vfield(1, 1), ...vfield(2, 2)]); // Sample.label {key, str}
    const sample = lfield(2, [...packed(1, [1]), ...packed(2, [4, 4]), ...label]);
    const mapping = lfield(3, [...vfield(1, 1), ...vfield(2, 0)]);
    const fixed = [...varint(20 * 8 + 1), 1, 2, 3, 4, 5, 6, 7, 8, ...varint(21 * 8 + 5), 1, 2, 3, 4];
    const p = decodeHeapProfile(gz([types, sample, mapping, fixed, pb.location(1, [1]), functions, strings, T, [13 * 8 + 0, 3]]), { source: 'x' });
    expect([...p.flatInuseBytes]).toEqual([['main.a', 4]]);
  });

  it('does not look at samples that hold no in-use bytes (an alloc-only stack may name an undefined location)', () => {
    const p = decodeHeapProfile(gz([types, pb.sample([42], [100, 0]), pb.sample([1], [1, 1]), pb.location(1, [1]), functions, strings, T]), { source: 'x' });
    expect(p.totalAllocBytes).toBe(101);
    expect(p.totalInuseBytes).toBe(1);
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

  it('rejects a truncated or corrupt protobuf inside a good gzip, naming the byte', () => {
    const raw = gunzipSync(readFileSync(fixture('heapleak-2.pb.gz')));
    expectInputError(() => decodeHeapProfile(gzipSync(raw.subarray(0, raw.length - 3)), { source: 'cut.pb.gz' }), /^cut\.pb\.gz: not a pprof protobuf \(.*(truncated or corrupt|runs past).*\): expected a Go heap profile/);
    expectInputError(() => decodeHeapProfile(gzipSync(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2])), { source: 'g' }), /^g: not a pprof protobuf \(/);
    expectInputError(() => decodeHeapProfile(gzipSync(Uint8Array.from([2 * 8 + 0, 5])), { source: 'w' }), /^w: not a pprof protobuf \(sample \(field 2\) at byte 1 has wire type 0, not 2\)/);
  });

  it('refuses a sample that refers to a location the profile does not define', () => {
    const body = [pb.sampleType(1, 2), pb.sample([5], [64]), pb.string(''), pb.string('inuse_space'), pb.string('bytes'), pb.timeNanos(1)];
    expectInputError(() => decodeHeapProfile(gzipSync(Uint8Array.from(body.flat())), { source: 'l' }), /^l: sample 0 refers to location 5, which the profile does not define/);
  });

  it('refuses a string index past the string table', () => {
    const body = [pb.sampleType(9, 2), pb.string(''), pb.string('inuse_space'), pb.string('bytes')];
    expectInputError(() => decodeHeapProfile(gzipSync(Uint8Array.from(body.flat())), { source: 's' }), /^s: sample_type\[0\]\.type points past the string table/);
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

  it('refuses ids beyond Number.MAX_SAFE_INTEGER', () => {
    const body = [pb.sampleType(1, 2), pb.location(2n ** 60n, []), pb.string(''), pb.string('inuse_space'), pb.string('bytes')];
    expectInputError(() => decodeHeapProfile(gzipSync(Uint8Array.from(body.flat())), { source: 'id' }), /^id: location\.id = 1152921504606846976 is beyond 2\^53 - 1/);
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
  it('gives the same HeapProfile as pprof-format + the old reduction', () => {
    const bytes = readFileSync(large);
    expect(comparable(decodeHeapProfile(bytes, { source: large }))).toEqual(comparable(referenceDecode(bytes, { source: large })));
  }, 180_000);
});

describe('impossible heap profiles', () => {
  it('refuses negative in-use bytes (a diff of two profiles, not a heap profile)', () => {
    expectInputError(() => decodeHeapProfile(encodeHeap([-4096]), { source: 'neg.pb.gz' }), /^neg\.pb\.gz: sample\[0\] inuse_space = -4096 is negative/);
  });

  it('refuses negative allocated bytes and a negative time_nanos', () => {
    const body = [pb.sampleType(1, 3), pb.sampleType(2, 3), pb.sample([], [-1, 0]), pb.string(''), pb.string('alloc_space'), pb.string('inuse_space'), pb.string('bytes'), pb.timeNanos(1)];
    expectInputError(() => decodeHeapProfile(gzipSync(Uint8Array.from(body.flat())), { source: 'a' }), /^a: sample\[0\] alloc_space = -1 is negative/);
    const late = [pb.sampleType(1, 2), pb.string(''), pb.string('inuse_space'), pb.string('bytes'), pb.timeNanos(-5)];
    expectInputError(() => decodeHeapProfile(gzipSync(Uint8Array.from(late.flat())), { source: 't' }), /^t: time_nanos -5 is negative/);
  });

  it('refuses a time_nanos that is not a plausible time, when told what now is', () => {
    // encodeHeap writes 2023-11-14 (1.7e18 ns); "now" in 2020 puts it years in the future.
    expectInputError(() => decodeHeapProfile(encodeHeap([1]), { source: 'f.pb.gz', nowMs: Date.UTC(2020, 0, 1) }), /^f\.pb\.gz: time_nanos 1700000000123456789: 2023-11-14T22:13:20\.123Z: a sample time must be after 2000-01-01 and at most a day after now/);
    expect(decodeHeapProfile(encodeHeap([1]), { source: 'ok', nowMs: Date.UTC(2026, 0, 1) }).timestampMs).toBe(1_700_000_000_123);
  });
});
