import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isInputError } from '../../../src/errors.ts';
import { parsePressure, sampleFromSnapshot, snapshotFromJson, snapshotToJson } from '../../../src/sources/cgroup.ts';
import { readCgroupSnapshot } from '../../../src/sampling/cgroup.ts';
import { parseCgroupRecording, readCgroupRecording } from '../../../src/sources/cgroup-recording.ts';

// Copied from real cgroup v1 memory cgroups on kernel 6.18 while filesaver ran in them
// (test/fixtures/traces/README.md): memaudit-fixture under a 64 MiB limit, with usage at the
// limit and the kernel reclaiming the file's page cache; memaudit-fixture-nolimit without one.
const ROOT = path.join(import.meta.dirname, '../../fixtures/sys/fs/cgroup/memory');
const LIMITED = path.join(ROOT, 'memaudit-fixture');
const UNLIMITED = path.join(ROOT, 'memaudit-fixture-nolimit');
const FIXED_NOW = Date.parse('2026-11-27T22:26:00.000Z');
const MiB = 2 ** 20;

/** memory.stat read independently of the parser under test. */
function statFile(dir: string): Map<string, number> {
  const lines = readFileSync(path.join(dir, 'memory.stat'), 'utf8').trim().split('\n');
  return new Map(lines.map((l) => l.split(' ')).map(([k, v]) => [k!, Number(v)]));
}
const bytesFile = (dir: string, name: string): number => Number(readFileSync(path.join(dir, name), 'utf8').trim());

describe('readCgroupSnapshot on a real v1 cgroup at its 64 MiB limit', () => {
  it('detects v1 and returns exactly what the files say', async () => {
    const snap = await readCgroupSnapshot(LIMITED, undefined, () => FIXED_NOW);
    expect(snap.version).toBe(1);
    expect(snap.timestampMs).toBe(FIXED_NOW);
    expect(snap.usageBytes).toBe(bytesFile(LIMITED, 'memory.usage_in_bytes'));
    expect(snap.usageBytes).toBe(67_010_560);
    expect(snap.limitBytes).toBe(64 * MiB);
    expect(snap.kmemUsageBytes).toBe(bytesFile(LIMITED, 'memory.kmem.usage_in_bytes'));
    expect(snap.kmemUsageBytes).toBe(2_154_496);
    expect(snap.go).toBeUndefined();
    // Every line, event counters included, with its value.
    expect(new Map(Object.entries(snap.stat))).toEqual(statFile(LIMITED));
    expect(Object.keys(snap.stat)).toHaveLength(42);
  });

  it('maps the hierarchical total_* fields to the sample', async () => {
    const stat = statFile(LIMITED);
    const sample = sampleFromSnapshot(await readCgroupSnapshot(LIMITED, 1, () => FIXED_NOW));
    expect(sample).toEqual({
      timestampMs: FIXED_NOW,
      usageBytes: 67_010_560,
      limitBytes: 67_108_864,
      anonBytes: stat.get('total_rss'),
      fileBytes: stat.get('total_cache'),
      shmemBytes: stat.get('total_shmem'),
      activeFileBytes: stat.get('total_active_file'),
      inactiveFileBytes: stat.get('total_inactive_file'),
      activeAnonBytes: stat.get('total_active_anon'),
      inactiveAnonBytes: stat.get('total_inactive_anon'),
      mappedFileBytes: stat.get('total_mapped_file'),
      dirtyBytes: stat.get('total_dirty'),
      writebackBytes: stat.get('total_writeback'),
      refaultFilePages: stat.get('total_workingset_refault_file'),
      refaultAnonPages: stat.get('total_workingset_refault_anon'),
      majorFaultCount: stat.get('total_pgmajfault'),
      kernelBytes: 2_154_496,
    });
    expect(sample.anonBytes).toBe(7_090_176);
    expect(sample.fileBytes).toBe(57_765_888);
  });

  it('is a self-consistent capture of page-cache pressure', async () => {
    const sample = sampleFromSnapshot(await readCgroupSnapshot(LIMITED, 1));
    // On this kernel v1 usage_in_bytes charges kernel memory too, and the capture adds up exactly:
    // total_rss 7090176 + total_cache 57765888 + kmem 2154496 = 67010560 = usage_in_bytes.
    expect(sample.anonBytes! + sample.fileBytes! + sample.kernelBytes!).toBe(sample.usageBytes);
    // At the limit (98 KiB below it), and what fills it is a file written once and never read:
    // 57741312 of the 57765888 bytes of cache are inactive_file, i.e. the first to be reclaimed.
    expect(sample.limitBytes! - sample.usageBytes).toBe(98_304);
    expect(sample.inactiveFileBytes! / sample.fileBytes!).toBeGreaterThan(0.999);
    expect(sample.shmemBytes).toBe(0);
    // max_usage_in_bytes (67112960) is one page above the limit: a charge the kernel may not
    // refuse (socket buffers of the loopback load are charged forcibly) can overshoot it.
    expect(bytesFile(LIMITED, 'memory.max_usage_in_bytes') - sample.limitBytes!).toBe(4096);
  });
});

describe('readCgroupSnapshot on a real v1 cgroup without a limit', () => {
  it('reads the page-rounded maximum 9223372036854771712 as "no limit"', async () => {
    expect(readFileSync(path.join(UNLIMITED, 'memory.limit_in_bytes'), 'utf8').trim()).toBe('9223372036854771712');
    const snap = await readCgroupSnapshot(UNLIMITED, undefined, () => FIXED_NOW);
    expect(snap.limitBytes).toBeNull();
    const sample = sampleFromSnapshot(snap);
    // hierarchical_memory_limit is the same maximum, so no ancestor's limit applies either.
    expect(sample.limitBytes).toBeUndefined();
    expect(sample.usageBytes).toBe(223_858_688);
    expect(sample.anonBytes).toBe(7_143_424);
    expect(sample.fileBytes).toBe(210_092_032);
    expect(sample.inactiveFileBytes).toBe(210_092_032);
    expect(sample.kernelBytes).toBe(6_553_600);
  });

  it('adds up to usage within the per-CPU charge batches (the files are not read atomically)', async () => {
    const s = sampleFromSnapshot(await readCgroupSnapshot(UNLIMITED, 1));
    // 7143424 + 210092032 + 6553600 = 223789056; usage 223858688 is 69632 bytes (17 pages) more,
    // read a moment later while filesaver was writing 2 MiB/s.
    const sum = s.anonBytes! + s.fileBytes! + s.kernelBytes!;
    expect(s.usageBytes - sum).toBe(69_632);
    expect(Math.abs(s.usageBytes - sum) / s.usageBytes).toBeLessThan(0.001);
  });
});

describe('recording round trip', () => {
  it('snapshotFromJson(snapshotToJson(x)) keeps every number of the capture', async () => {
    const snap = await readCgroupSnapshot(LIMITED, 1, () => FIXED_NOW);
    const line = JSON.parse(JSON.stringify(snapshotToJson(snap))) as unknown;
    const back = snapshotFromJson(line, 'memory.jsonl', 1);
    expect(back).toEqual(snap);
  });
});

describe('recordings made by other tools', () => {
  it('accepts the cgroup files\' own names, epoch seconds, numbers as read from the files, and raw memory.stat text', async () => {
    const snap = await readCgroupSnapshot(LIMITED, 1, () => FIXED_NOW);
    const statText = Object.entries(snap.stat).map(([k, v]) => `${k} ${v}`).join('\n') + '\n';
    const line = {
      timestamp: FIXED_NOW / 1000,
      'memory.usage_in_bytes': `${snap.usageBytes}\n`,
      'memory.limit_in_bytes': `${snap.limitBytes}\n`,
      'memory.kmem.usage_in_bytes': snap.kmemUsageBytes,
      'memory.stat': statText,
    };
    expect(snapshotFromJson(line, 'shell-loop.jsonl', 1)).toEqual(snap);
  });

  it('reads a cgroup v2 line ("memory.current", "memory.max": "max") and infers the version from its keys', () => {
    const back = snapshotFromJson({ time: '2026-11-28T03:00:00Z', 'memory.current': 5_000_000, 'memory.max': 'max\n', 'memory.stat': 'anon 3000000\nfile 1000000\nkernel 500000\n' }, 'v2.jsonl', 7);
    expect(back).toMatchObject({ version: 2, usageBytes: 5_000_000, limitBytes: null, timestampMs: Date.parse('2026-11-28T03:00:00Z') });
    expect(sampleFromSnapshot(back)).toMatchObject({ anonBytes: 3_000_000, fileBytes: 1_000_000, kernelBytes: 500_000 });
  });
});

describe('readCgroupSnapshot on a directory that is not a memory cgroup', () => {
  it('throws an InputError naming the directory', async () => {
    const err = await readCgroupSnapshot(ROOT).catch((e: unknown) => e);
    expect(isInputError(err)).toBe(true);
    expect(String(err)).toContain(ROOT);
  });
});

// A real capture made for these counters (kernel 6.18, cgroup v1): a child of the test shell's own
// memory cgroup with memory.limit_in_bytes 32 MiB, in which `dd` wrote 96 MiB of random data to a
// file and `cat` read it back three times; the files were copied after the processes ended (the
// cache stays charged). The limit was hit 807 times and 75032 file pages were read again after
// being reclaimed (3 passes x 24576 pages of a file 3x the limit, plus the write-back of dd's).
const RECLAIM = path.join(ROOT, 'memaudit-fixture-reclaim');
// Hand-written cgroup v2 files mirroring the kernel's format (its README says what they show).
const V2 = path.join(import.meta.dirname, '../../fixtures/sys/fs/cgroup/memaudit-v2-fixture');

describe('reclaim evidence from the cgroup files', () => {
  it('v1: memory.failcnt, workingset_refault_file/anon and pgmajfault (total_* forms) of a real capture', async () => {
    const snap = await readCgroupSnapshot(RECLAIM, undefined, () => FIXED_NOW);
    expect(snap.failCount).toBe(bytesFile(RECLAIM, 'memory.failcnt'));
    expect(snap.failCount).toBe(807);
    const stat = statFile(RECLAIM);
    const sample = sampleFromSnapshot(snap);
    expect(sample).toMatchObject({ failCount: 807, refaultFilePages: stat.get('total_workingset_refault_file'), refaultAnonPages: 0, majorFaultCount: stat.get('total_pgmajfault') });
    expect(sample.refaultFilePages).toBe(75_032);
    expect(sample.memoryEvents).toBeUndefined(); // v1 has no memory.events
    // The JSON line carries failcnt and reads back to the same snapshot.
    const line = JSON.parse(JSON.stringify(snapshotToJson(snap))) as Record<string, unknown>;
    expect(line.failcnt).toBe(807);
    expect(snapshotFromJson(line, 'r.jsonl', 1)).toEqual(snap);
  });

  it('v1: an older kernel\'s single workingset_refault counts file pages', () => {
    const s = sampleFromSnapshot({ timestampMs: FIXED_NOW, version: 1, stat: { total_rss: 1, total_cache: 2, total_workingset_refault: 40 }, usageBytes: 10, limitBytes: null });
    expect(s.refaultFilePages).toBe(40);
    expect(s.refaultAnonPages).toBeUndefined();
  });

  it('v2: memory.events, memory.pressure and memory.stat counters, carried in the JSON line as events and pressure', async () => {
    const snap = await readCgroupSnapshot(V2, undefined, () => FIXED_NOW);
    expect(snap.version).toBe(2);
    expect(snap.events).toEqual({ low: 0, high: 0, max: 1873, oom: 0, oomKill: 0 });
    expect(snap.pressure).toEqual({ someMicros: 4_127_734, fullMicros: 2_650_311 });
    const sample = sampleFromSnapshot(snap);
    expect(sample).toMatchObject({
      usageBytes: 268_013_568,
      limitBytes: 268_435_456,
      refaultFilePages: 48_213,
      refaultAnonPages: 0,
      majorFaultCount: 1187,
      memoryEvents: { max: 1873, oomKill: 0 },
      pressureSomeMicros: 4_127_734,
      pressureFullMicros: 2_650_311,
    });
    expect(sample.failCount).toBeUndefined(); // v2 has no failcnt
    const line = JSON.parse(JSON.stringify(snapshotToJson(snap))) as Record<string, unknown>;
    expect(line.events).toEqual({ low: 0, high: 0, max: 1873, oom: 0, oom_kill: 0 });
    expect(line.pressure).toEqual({ some_total: 4_127_734, full_total: 2_650_311 });
    expect(snapshotFromJson(line, 'v2.jsonl', 1)).toEqual(snap);
  });

  it('v2: a shell-loop line may carry memory.events and memory.pressure as the files\' text', () => {
    const events = readFileSync(path.join(V2, 'memory.events'), 'utf8');
    const pressure = readFileSync(path.join(V2, 'memory.pressure'), 'utf8');
    const snap = snapshotFromJson({ timestamp: FIXED_NOW / 1000, 'memory.current': '268013568\n', 'memory.max': 'max\n', 'memory.stat': 'anon 1\nfile 2\n', 'memory.events': events, 'memory.pressure': pressure }, 'loop.jsonl', 3);
    expect(snap.events?.max).toBe(1873);
    expect(snap.pressure).toEqual({ someMicros: 4_127_734, fullMicros: 2_650_311 });
  });

  it('refuses a malformed memory.pressure line, naming it', () => {
    expect(() => parsePressure('some avg10=0.00 total=12\nfull avg10=x\n', 'p')).toThrow(/^p:2: expected "some\|full avg10=\.\.\. total=N"/);
  });
});

describe('readCgroupRecording', () => {
  it('streams a recording file to the same samples as parsing its text', async () => {
    const file = path.join(import.meta.dirname, '../../fixtures/traces/heap-leak/trace.jsonl');
    const streamed = await readCgroupRecording(file);
    expect(streamed).toEqual(parseCgroupRecording(readFileSync(file, 'utf8'), file));
    expect(streamed.samples.length).toBe(readFileSync(file, 'utf8').trim().split('\n').length);
  });
});
