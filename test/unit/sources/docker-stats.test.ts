import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isInputError } from '../../../src/errors.ts';
import { isNoData } from '../../../src/model/no-data.ts';
import type { DockerStatsObject } from '../../../src/sources/docker-stats.ts';
import { dockerMemoryLimit, parseDockerStatsLines, parseDockerStatsObject, readDockerStatsFile, sampleFromDockerStats } from '../../../src/sources/docker-stats.ts';

const DIR = path.join(import.meta.dirname, '../../fixtures/docker-stats');
const V2 = path.join(DIR, 'v2/minecraft-cgroup2.json');
const v2Object = (): Record<string, unknown> => JSON.parse(readFileSync(V2, 'utf8')) as Record<string, unknown>;

describe('cgroup v2 stats object (real capture)', () => {
  it('maps memory.stat v2 keys to the sample, with the kernel total summed for pre-5.18 kernels', () => {
    const r = parseDockerStatsObject(v2Object(), { source: V2 }) as DockerStatsObject;
    expect(r.cgroupVersion).toBe(2);
    expect(r.containerName).toBe('Chor122');
    expect(r.sample).toEqual({
      timestampMs: Date.parse('2024-08-31T22:02:27.639Z'),
      usageBytes: 1563537408,
      limitBytes: 2122317824,
      anonBytes: 1437630464,
      fileBytes: 116547584,
      shmemBytes: 0,
      activeFileBytes: 806912,
      inactiveFileBytes: 115740672,
      activeAnonBytes: 1437609984,
      inactiveAnonBytes: 0,
      mappedFileBytes: 225280,
      dirtyBytes: 61440,
      writebackBytes: 0,
      slabReclaimableBytes: 4232144,
      slabUnreclaimableBytes: 740424,
      kernelStackBytes: 720896,
      sockBytes: 0,
      kernelBytes: 4972568 + 720896, // slab + kernel_stack (+ pagetables, percpu, sock: absent or 0)
      majorFaultCount: 7, // pgmajfault
      refaultFilePages: 0, // workingset_refault: a kernel before 5.9, whose one refault counter counts file pages
    });
  });

  it('cannot verify a v2 limit without the host memory, and treats limit >= host memory as unlimited', () => {
    const unknown = parseDockerStatsObject(v2Object()) as DockerStatsObject;
    expect(unknown.limit).toEqual({ limitBytes: 2122317824, basis: 'unverified' });
    const hostIsThatBig = parseDockerStatsObject(v2Object(), { hostMemoryBytes: 2122317824 }) as DockerStatsObject;
    expect(hostIsThatBig.limit).toEqual({ limitBytes: null, basis: 'unlimited' });
    expect(hostIsThatBig.sample.limitBytes).toBeUndefined();
    const biggerHost = parseDockerStatsObject(v2Object(), { hostMemoryBytes: 16 * 2 ** 30 }) as DockerStatsObject;
    expect(biggerHost.limit).toEqual({ limitBytes: 2122317824, basis: 'cgroup' });
  });

  it('warns once about an unverified v2 limit in a stream', () => {
    const line = JSON.stringify(v2Object());
    const rec = parseDockerStatsLines(`${line}\n${line}\n`, 'v2.jsonl');
    expect(rec.samples).toHaveLength(2);
    expect(rec.warnings).toEqual([expect.stringMatching(/^v2\.jsonl: cgroup v2 stats report a limit of 2122317824 bytes, which may be the host's total memory/)]);
  });
});

describe('dockerMemoryLimit (cgroup v1)', () => {
  it('uses hierarchical_memory_limit to tell the host memory from a real limit', () => {
    // Docker's stand-in for "no limit" on this machine: MemTotal 24683652 kB = 25276059648 bytes
    expect(dockerMemoryLimit({ limit: 25276059648, stats: { hierarchical_memory_limit: 9223372036854771712 } }, 1)).toEqual({ limitBytes: null, basis: 'unlimited' });
    expect(dockerMemoryLimit({ limit: 67108864, stats: { hierarchical_memory_limit: 67108864 } }, 1)).toEqual({ limitBytes: 67108864, basis: 'cgroup' });
    // a parent cgroup (--cgroup-parent) with a tighter limit than the host memory Docker reports
    expect(dockerMemoryLimit({ limit: 25276059648, stats: { hierarchical_memory_limit: 536870912 } }, 1, 25276059648)).toEqual({ limitBytes: 536870912, basis: 'cgroup' });
    expect(dockerMemoryLimit({}, 1)).toEqual({ limitBytes: null, basis: 'absent' });
  });
});

// Streams recorded on this machine by test/fixtures/docker-stats/record.sh (cgroup v1).
// Committed with their README (versions, commands); a missing one fails loudly rather than skipping.
const RECORDINGS = ['pagecache-nolimit', 'pagecache-limit64m', 'heap-leak', 'shm-growth', 'gc-churn'];

describe('real v1 streams recorded on this machine', () => {
  const load = (name: string) => readFileSync(path.join(DIR, `${name}.jsonl`), 'utf8');
  const raw = (name: string) =>
    load(name)
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { read: string; memory_stats: { usage: number; limit: number; stats: Record<string, number> } });

  it.each(RECORDINGS)('%s: every object becomes a sample following the documented v1 mapping', async (name) => {
    const rec = await readDockerStatsFile(path.join(DIR, `${name}.jsonl`));
    const objs = raw(name);
    expect(rec.cgroupVersion).toBe(1);
    expect(rec.containerName).toBe(`memaudit-rec-${name}`);
    expect(rec.samples).toHaveLength(objs.length);
    expect(rec.warnings).toEqual([]);
    rec.samples.forEach((s, i) => {
      const o = objs[i]!;
      const st = o.memory_stats.stats;
      expect(s.timestampMs).toBe(Date.parse(o.read));
      expect(s.usageBytes).toBe(o.memory_stats.usage);
      expect(s.anonBytes).toBe(st.total_rss);
      expect(s.fileBytes).toBe(st.total_cache);
      expect(s.activeFileBytes).toBe(st.total_active_file);
      expect(s.inactiveFileBytes).toBe(st.total_inactive_file);
      expect(s.dirtyBytes).toBe(st.total_dirty);
      expect(s.mappedFileBytes).toBe(st.total_mapped_file);
      expect(s.shmemBytes).toBe(st.total_shmem ?? st.shmem); // this Docker omits shmem: undefined, not 0
    });
    for (let i = 1; i < rec.samples.length; i++) expect(rec.samples[i]!.timestampMs).toBeGreaterThan(rec.samples[i - 1]!.timestampMs);
  });

  it('reports the 64 MiB limit of --memory 64m', async () => {
    const rec = await readDockerStatsFile(path.join(DIR, 'pagecache-limit64m.jsonl'));
    expect(new Set(rec.samples.map((s) => s.limitBytes))).toEqual(new Set([64 * 2 ** 20]));
  });

  it('treats the host memory Docker reports for an unlimited container as no limit', async () => {
    const objs = raw('pagecache-nolimit');
    expect(objs[0]!.memory_stats.limit).toBeGreaterThan(2 ** 30); // the host's MemTotal
    const rec = await readDockerStatsFile(path.join(DIR, 'pagecache-nolimit.jsonl'));
    expect(rec.samples.every((s) => s.limitBytes === undefined)).toBe(true);
  });

  it('shows /dev/shm growth as cache ("fileBytes") growth while anon stays small', async () => {
    const rec = await readDockerStatsFile(path.join(DIR, 'shm-growth.jsonl'));
    const first = rec.samples[0]!;
    const last = rec.samples[rec.samples.length - 1]!;
    expect(last.fileBytes! - first.fileBytes!).toBeGreaterThan(16 * 2 ** 20);
    expect(last.anonBytes!).toBeLessThan(16 * 2 ** 20);
  });

  it('skips a last line cut at any point, with a warning; a cut line elsewhere is an error naming file and line', () => {
    const name = RECORDINGS[0]!;
    const lines = load(name).split('\n').filter((l) => l.trim());
    const whole = lines.slice(0, 3);
    const last = lines[3]!;
    for (let cut = 1; cut < last.length; cut += Math.max(1, Math.floor(last.length / 97))) {
      const rec = parseDockerStatsLines(`${whole.join('\n')}\n${last.slice(0, cut)}`, 'rec.jsonl');
      expect(rec.samples).toHaveLength(3);
      expect(rec.warnings).toEqual(['rec.jsonl:4: last line is a stats object cut short (the recording was stopped mid-write); skipped']);
    }
    const middle = `${whole[0]}\n${whole[1]!.slice(0, 200)}\n${whole[2]}\n`;
    try {
      parseDockerStatsLines(middle, 'rec.jsonl');
      throw new Error('no error');
    } catch (e) {
      expect(isInputError(e)).toBe(true);
      expect((e as Error).message).toMatch(/^rec\.jsonl:2: not a JSON stats object/);
    }
  });
});

const ONESHOTS = RECORDINGS;

describe('real one-shot objects (stream=false) against the cgroup ground truth', () => {
  const oneshot = (name: string) => JSON.parse(readFileSync(path.join(DIR, `${name}.oneshot.json`), 'utf8')) as { memory_stats: { usage: number } };
  const HOST_MEMORY_BYTES = 24683652 * 1024; // MemTotal of the recording machine (README)

  it.each(ONESHOTS)('%s: one v1 sample; the limit is 64 MiB only where --memory 64m was given', (name) => {
    const r = parseDockerStatsObject(oneshot(name), { source: name }) as DockerStatsObject;
    expect(r.cgroupVersion).toBe(1);
    expect(r.sample.usageBytes).toBe(oneshot(name).memory_stats.usage);
    expect(r.limit).toEqual(name === 'pagecache-limit64m' ? { limitBytes: 64 * 2 ** 20, basis: 'cgroup' } : { limitBytes: null, basis: 'unlimited' });
    const withHost = parseDockerStatsObject(oneshot(name), { hostMemoryBytes: HOST_MEMORY_BYTES }) as DockerStatsObject;
    expect(withHost.limit.limitBytes).toBe(r.limit.limitBytes);
  });

  it(
    'shm-growth: the API has no shmem (left undefined), while the cgroup shows its cache is all shmem',
    () => {
      const r = parseDockerStatsObject(oneshot('shm-growth')) as DockerStatsObject;
      expect(r.sample.shmemBytes).toBeUndefined();
      const truth = Object.fromEntries(
        readFileSync(path.join(DIR, 'cgroup/shm-growth.end.memory.stat'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split(' ') as [string, string])
          .map(([k, v]) => [k, Number(v)]),
      ) as Record<string, number>;
      expect(truth.total_shmem).toBe(truth.total_cache);
      // read ~1 s apart: the API's cache is the cgroup's shmem within 2 %
      expect(Math.abs(r.sample.fileBytes! - truth.total_shmem!) / truth.total_shmem!).toBeLessThan(0.02);
    },
  );
});

describe('parseDockerStatsLines input errors', () => {
  it('rejects an empty file with "no stats objects"', () => {
    expect(() => parseDockerStatsLines('', 'empty.jsonl')).toThrow(/^empty\.jsonl: no stats objects/);
    expect(() => parseDockerStatsLines('\n  \n', 'blank.jsonl')).toThrow(/no stats objects/);
  });

  it('rejects a non-JSON last line that is not a cut object', () => {
    const ok = JSON.stringify(v2Object());
    expect(() => parseDockerStatsLines(`${ok}\nConnection reset by peer\n`, 'r.jsonl')).toThrow(/^r\.jsonl:2: not a JSON stats object/);
  });

  it('recognises `docker stats --format json` lines and says what to record instead', () => {
    const cli = '{"BlockIO":"0B / 0B","CPUPerc":"0.00%","Container":"c1","ID":"c1","MemPerc":"0.01%","MemUsage":"1.5MiB / 23.5GiB","Name":"x","NetIO":"0B / 0B","PIDs":"1"}';
    expect(() => parseDockerStatsLines(cli, 'cli.jsonl')).toThrow(/^cli\.jsonl:1: this is `docker stats --format json` output/);
  });

  it('gives NoData for a stopped container object, and errors when nothing else is there', () => {
    const stopped = { read: '0001-01-01T00:00:00Z', preread: '0001-01-01T00:00:00Z', memory_stats: {} };
    expect(isNoData(sampleFromDockerStats(stopped))).toBe(true);
    expect(() => parseDockerStatsLines(JSON.stringify(stopped), 's.jsonl')).toThrow(/no stats objects with memory data/);
    const rec = parseDockerStatsLines(`${JSON.stringify(stopped)}\n${JSON.stringify(v2Object())}`, 's.jsonl', { hostMemoryBytes: 2 ** 40 });
    expect(rec.samples).toHaveLength(1);
    expect(rec.warnings).toEqual(['s.jsonl: 1 object(s) from a stopped container (zero "read" time) skipped']);
  });

  it('names the field of a malformed object', () => {
    const bad = { ...v2Object(), memory_stats: { usage: 'lots', stats: {} } };
    expect(() => parseDockerStatsObject(bad, { source: 'b.json', line: 7 })).toThrow('b.json:7: memory_stats.usage must be a byte count (a number), got "lots"');
  });
});
