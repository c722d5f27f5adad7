import { InputError } from '../errors.ts';
import type { MemorySample } from '../model/sample.ts';
import type { NoData } from '../model/no-data.ts';
import { noData } from '../model/no-data.ts';

/**
 * Per-process fallback when the target has no cgroup of its own: `/proc/PID/status` and
 * `/proc/PID/smaps_rollup` -> MemorySample.
 *
 *   VmRSS               -> usageBytes and rssBytes (a process has no "usage" beyond its resident set)
 *   RssAnon             -> anonBytes
 *   RssFile + RssShmem  -> fileBytes (as in cgroup accounting, where shmem is counted in file/cache)
 *   RssShmem            -> shmemBytes
 * Page cache of files the process wrote but does not map is not in any of these: a process view
 * cannot show the cache growth a cgroup shows, and none of it is counted here.
 *
 * Kernels before 4.5 have no RssAnon/RssFile/RssShmem lines; then smaps_rollup (4.14+) supplies
 * `Rss` and `Anonymous`, fileBytes = Rss - Anonymous, and shmem stays unknown. Every size is in kB
 * in both files and converted to bytes.
 */

/** `key: value kB` fields, as bytes; plain numbers (Pid, Threads) as they are. */
export type ProcFields = Record<string, number>;

function parseKbFields(text: string, source: string, skipFirstLine: boolean): ProcFields {
  const out: ProcFields = {};
  const lines = text.split('\n');
  for (let i = skipFirstLine ? 1 : 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const m = /^([A-Za-z_()0-9]+):\s*(.*)$/.exec(line);
    if (!m) throw new InputError(source, `expected "Key: value" lines, got ${JSON.stringify(line.slice(0, 80))}`, { line: i + 1 });
    const kb = /^(\d+) kB$/.exec(m[2]!.trim());
    if (kb) out[m[1]!] = Number(kb[1]) * 1024;
    else if (/^\d+$/.test(m[2]!.trim())) out[m[1]!] = Number(m[2]!.trim());
  }
  return out;
}

/** /proc/PID/status: sizes in bytes (the kB of the file times 1024). Text fields are dropped. */
export function parseProcStatus(text: string, source = 'status'): ProcFields {
  if (!/^Name:/m.test(text)) throw new InputError(source, 'not a /proc/PID/status file (no "Name:" line)');
  return parseKbFields(text, source, false);
}

/** /proc/PID/smaps_rollup: the first line is the address range "[rollup]", then "Key: N kB" lines. */
export function parseSmapsRollup(text: string, source = 'smaps_rollup'): ProcFields {
  const first = text.split('\n', 1)[0] ?? '';
  if (!first.includes('[rollup]')) throw new InputError(source, 'not a /proc/PID/smaps_rollup file (the first line has no "[rollup]")', { line: 1 });
  return parseKbFields(text, source, true);
}

/** Builds the sample; NoData for a kernel thread or zombie (no VmRSS: no user memory). */
export function sampleFromProc(status: ProcFields, smapsRollup: ProcFields | undefined, timestampMs: number): MemorySample | NoData {
  const rss = status.VmRSS ?? smapsRollup?.Rss;
  if (rss === undefined) return noData('no VmRSS: a kernel thread or a zombie has no user memory');
  const sample: MemorySample = { timestampMs, usageBytes: rss, rssBytes: rss };
  if (status.RssAnon !== undefined && status.RssFile !== undefined && status.RssShmem !== undefined) {
    sample.anonBytes = status.RssAnon;
    sample.fileBytes = status.RssFile + status.RssShmem;
    sample.shmemBytes = status.RssShmem;
  } else if (smapsRollup?.Anonymous !== undefined && smapsRollup.Rss !== undefined) {
    sample.anonBytes = smapsRollup.Anonymous;
    sample.fileBytes = Math.max(0, smapsRollup.Rss - smapsRollup.Anonymous);
  }
  return sample;
}
