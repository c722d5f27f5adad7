import path from 'node:path';
import { isInputError } from '../../../src/errors.ts';
import { isNoData } from '../../../src/model/no-data.ts';
import { parseProcStatus, parseSmapsRollup, sampleFromProc } from '../../../src/sources/proc.ts';
import { readProcSample } from '../../../src/sampling/proc.ts';

const ROOT = path.join(import.meta.dirname, '../../fixtures/proc');
const KiB = 1024;

describe('readProcSample on a real /proc/PID capture', () => {
  it('maps VmRSS, RssAnon, RssFile + RssShmem and RssShmem', async () => {
    const s = await readProcSample(5996, { procRoot: ROOT, now: () => 1_000 });
    // status: VmRSS 95504 kB, RssAnon 72460 kB, RssFile 6660 kB, RssShmem 16384 kB (the 16 MiB /dev/shm file)
    expect(s).toEqual({
      timestampMs: 1_000,
      usageBytes: 95504 * KiB,
      rssBytes: 95504 * KiB,
      anonBytes: 72460 * KiB,
      fileBytes: (6660 + 16384) * KiB,
      shmemBytes: 16 * 1024 * KiB,
    });
  });

  it('returns NoData for a process that is gone', async () => {
    const s = await readProcSample(999999, { procRoot: ROOT });
    expect(isNoData(s)).toBe(true);
  });

  it('reads the live /proc of this test process', async () => {
    const s = await readProcSample('self');
    expect(isNoData(s)).toBe(false);
    const sample = s as { usageBytes: number; anonBytes: number };
    expect(sample.usageBytes).toBeGreaterThan(10 * 1024 * KiB);
    expect(sample.anonBytes).toBeGreaterThan(0);
  });
});

describe('proc parsing edge cases', () => {
  it('falls back to smaps_rollup Rss/Anonymous on kernels without RssAnon (shmem unknown)', () => {
    const status = parseProcStatus('Name:\told\nPid:\t42\nVmRSS:\t  2000 kB\n');
    const smaps = parseSmapsRollup('00400000-7fff0000 ---p 00000000 00:00 0    [rollup]\nRss:  2000 kB\nAnonymous:  1500 kB\n');
    expect(sampleFromProc(status, smaps, 5)).toEqual({ timestampMs: 5, usageBytes: 2000 * KiB, rssBytes: 2000 * KiB, anonBytes: 1500 * KiB, fileBytes: 500 * KiB });
  });

  it('gives NoData for a kernel thread (no VmRSS)', () => {
    const kthread = parseProcStatus('Name:\tkworker/0:1\nUmask:\t0000\nState:\tI (idle)\nPid:\t17\nThreads:\t1\n');
    expect(isNoData(sampleFromProc(kthread, undefined, 0))).toBe(true);
  });

  it('rejects files that are not status / smaps_rollup, naming them', () => {
    expect(() => parseProcStatus('VmRSS: 1 kB\n', '/proc/1/status')).toThrow(/^\/proc\/1\/status: not a \/proc\/PID\/status file/);
    try {
      parseSmapsRollup('Rss: 1 kB\n', '/proc/1/smaps_rollup');
      throw new Error('no error');
    } catch (e) {
      expect(isInputError(e)).toBe(true);
      expect((e as Error).message).toMatch(/^\/proc\/1\/smaps_rollup:1: not a \/proc\/PID\/smaps_rollup file/);
    }
    expect(() => parseProcStatus('Name:\tx\n<garbage line>\n', 's')).toThrow(/^s:2: expected "Key: value" lines/);
  });
});
