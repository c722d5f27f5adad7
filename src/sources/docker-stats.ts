import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.ts';
import type { MemorySample } from '../model/sample.ts';
import type { NoData } from '../model/no-data.ts';
import { noData } from '../model/no-data.ts';
import { sampleFromSnapshot } from './cgroup.ts';
import { parseJsonLines } from './json-lines.ts';

/**
 * Docker Engine API `GET /containers/{id}/stats` objects (what dockerode's `container.stats()`
 * returns, and what the stream sends once a second) -> MemorySample.
 *
 * `memory_stats.stats` is the container cgroup's memory.stat, passed through by the daemon with the
 * kernel's own names, so the mapping is the cgroup one (sampleFromSnapshot in cgroup.ts):
 *   cgroup v1: total_rss, total_cache, total_shmem (only on some Docker versions), total_active_file,
 *              total_inactive_file, total_mapped_file, total_dirty, total_writeback, ...
 *   cgroup v2: anon, file, shmem, active_file, inactive_file, file_mapped, file_dirty,
 *              file_writeback, kernel / kernel_stack, slab_reclaimable, slab_unreclaimable, sock, ...
 * `memory_stats.usage` is the raw cgroup usage, page cache included (not the `docker stats` CLI's
 * MEM USAGE, which subtracts inactive_file). `read` is the sample time.
 *
 * The limit. Docker never reports "no limit": when the container has none it puts the host's total
 * memory (MemTotal, in bytes) in `memory_stats.limit`. memaudit decides from the data:
 *   - `hostMemoryBytes` given (GET /info `MemTotal`, or /proc/meminfo of the Docker host) and
 *     limit >= it: unlimited. A limit at or above the host's memory cannot bind anyway.
 *   - cgroup v1: `stats.hierarchical_memory_limit` is the effective limit of the cgroup and its
 *     ancestors; at or above 2^62 (the kernel's page-rounded 2^63-1) nothing limits the container
 *     and `limit` is the host memory: unlimited. Otherwise the smaller of the two is the limit.
 *   - cgroup v2 without `hostMemoryBytes`: the stats do not say which it is. The reported value is
 *     kept, the basis is 'unverified', and the stream parser returns a warning.
 */

/** Where the limit came from, so callers can say how sure they are. */
export type DockerLimitBasis =
  /** A real cgroup limit (v1 hierarchical_memory_limit confirms it, or it is below the host memory). */
  | 'cgroup'
  /** No limit: `limit` was the host's memory. */
  | 'unlimited'
  /** v2 without hostMemoryBytes: may be a limit or the host's memory. */
  | 'unverified'
  /** The stats carry no limit at all (0 or absent). */
  | 'absent';

export interface DockerLimit {
  limitBytes: number | null;
  basis: DockerLimitBasis;
}

export interface DockerStatsOptions {
  /** Name of the input for errors (file path, URL, container name). */
  source?: string;
  /** Line of the input, for errors. */
  line?: number;
  /** Total memory of the Docker host in bytes (GET /info MemTotal); lets v2 limits be verified. */
  hostMemoryBytes?: number;
}

export interface DockerStatsObject {
  sample: MemorySample;
  cgroupVersion: 1 | 2;
  limit: DockerLimit;
  containerId?: string;
  containerName?: string;
}

/** v1 writes "no limit" as the largest page-aligned signed 64-bit value (9223372036854771712). */
const V1_UNLIMITED_THRESHOLD = 2 ** 62;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Decides the limit as described at the top of this file. */
export function dockerMemoryLimit(memoryStats: Obj, cgroupVersion: 1 | 2, hostMemoryBytes?: number): DockerLimit {
  const limit = typeof memoryStats.limit === 'number' && memoryStats.limit > 0 ? memoryStats.limit : undefined;
  const stats = isObj(memoryStats.stats) ? memoryStats.stats : {};
  const hier = typeof stats.hierarchical_memory_limit === 'number' ? stats.hierarchical_memory_limit : undefined;
  if (limit === undefined) {
    if (hier !== undefined && hier < V1_UNLIMITED_THRESHOLD) return { limitBytes: hier, basis: 'cgroup' };
    return { limitBytes: null, basis: 'absent' };
  }
  if (hostMemoryBytes !== undefined && hostMemoryBytes > 0 && limit >= hostMemoryBytes) {
    if (hier !== undefined && hier < hostMemoryBytes) return { limitBytes: hier, basis: 'cgroup' };
    return { limitBytes: null, basis: 'unlimited' };
  }
  if (hier !== undefined) {
    if (hier >= V1_UNLIMITED_THRESHOLD) return { limitBytes: null, basis: 'unlimited' };
    return { limitBytes: Math.min(limit, hier), basis: 'cgroup' };
  }
  if (hostMemoryBytes !== undefined && hostMemoryBytes > 0) return { limitBytes: limit, basis: 'cgroup' };
  return { limitBytes: limit, basis: cgroupVersion === 2 ? 'unverified' : 'cgroup' };
}

/**
 * One stats object -> sample. NoData for a container that is not running: the daemon then sends
 * `read` = "0001-01-01T00:00:00Z" and an empty `memory_stats`.
 */
export function parseDockerStatsObject(value: unknown, options: DockerStatsOptions = {}): DockerStatsObject | NoData {
  const source = options.source ?? 'docker stats';
  const at = options.line !== undefined ? { line: options.line } : {};
  if (!isObj(value)) throw new InputError(source, 'expected a Docker Engine API stats object (GET /containers/{id}/stats)', at);
  if ('MemUsage' in value || 'MemPerc' in value) {
    throw new InputError(source, 'this is `docker stats --format json` output (rounded strings like "1.2MiB / 2GiB"); record the Engine API stream instead: curl --unix-socket /var/run/docker.sock http://localhost/containers/ID/stats', at);
  }
  if (!isObj(value.memory_stats)) throw new InputError(source, 'no "memory_stats" object: expected a Docker Engine API stats object (GET /containers/{id}/stats)', at);
  const ms = value.memory_stats;
  const read = value.read;
  if (typeof read !== 'string') throw new InputError(source, 'field "read" (the sample time, RFC 3339) is missing', at);
  const timestampMs = Date.parse(read);
  if (!Number.isFinite(timestampMs)) throw new InputError(source, `field "read" is not an RFC 3339 time: ${JSON.stringify(read.slice(0, 40))}`, at);
  if (read.startsWith('0001-01-01') || ms.usage === undefined) {
    if ('commitbytes' in ms || 'privateworkingset' in ms) return noData('Windows container: the stats carry no cgroup memory breakdown');
    return noData('the container is not running (zero "read" time / no memory usage)');
  }
  if (typeof ms.usage !== 'number' || !Number.isSafeInteger(ms.usage) || ms.usage < 0) throw new InputError(source, `memory_stats.usage must be a byte count, got ${JSON.stringify(ms.usage)}`, at);

  const rawStats = isObj(ms.stats) ? ms.stats : {};
  const stat: Record<string, number> = {};
  for (const [k, v] of Object.entries(rawStats)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(source, `memory_stats.stats.${k} must be a number, got ${JSON.stringify(v)}`, at);
    stat[k] = v;
  }
  const cgroupVersion: 1 | 2 = 'anon' in stat || 'file' in stat ? 2 : 1;
  const limit = dockerMemoryLimit(ms, cgroupVersion, options.hostMemoryBytes);
  // hierarchical_memory_limit is already folded into `limit`; keep sampleFromSnapshot from re-deciding.
  const { hierarchical_memory_limit: _hier, ...statForSample } = stat;
  const sample = sampleFromSnapshot({ timestampMs, version: cgroupVersion, stat: statForSample, usageBytes: ms.usage, limitBytes: limit.limitBytes });
  const out: DockerStatsObject = { sample, cgroupVersion, limit };
  if (typeof value.id === 'string') out.containerId = value.id;
  if (typeof value.name === 'string') out.containerName = value.name.replace(/^\//, '');
  return out;
}

/** The sample alone, for callers that do not care about the limit's basis. */
export function sampleFromDockerStats(value: unknown, options: DockerStatsOptions = {}): MemorySample | NoData {
  const r = parseDockerStatsObject(value, options);
  return 'kind' in r ? r : r.sample;
}

export interface DockerStatsRecording {
  samples: MemorySample[];
  /** Things the caller should show the user: a cut last line, stopped-container objects, an unverified limit. */
  warnings: string[];
  cgroupVersion?: 1 | 2;
  containerId?: string;
  containerName?: string;
}

/**
 * A recorded stats stream: one JSON object per line (`curl --unix-socket ... /containers/ID/stats`,
 * or dockerode's stream written line by line). A line that is not JSON is an InputError naming the
 * file and line, except the last line when it is a JSON object cut short, which is what stopping a
 * recording leaves behind: it is skipped with a warning.
 */
export function parseDockerStatsLines(text: string, source: string, options: Omit<DockerStatsOptions, 'source' | 'line'> = {}): DockerStatsRecording {
  if (text.trim() === '') throw new InputError(source, 'no stats objects: the file is empty (expected one Docker Engine API stats JSON object per line)');
  const { lines, warnings } = parseJsonLines(text, source, 'stats object');
  const rec: DockerStatsRecording = { samples: [], warnings };
  let stopped = 0;
  let unverified: number | undefined;
  for (const { line, value } of lines) {
    const r = parseDockerStatsObject(value, { ...options, source, line });
    if ('kind' in r) {
      stopped++;
      continue;
    }
    if (rec.cgroupVersion === undefined) {
      rec.cgroupVersion = r.cgroupVersion;
      if (r.containerId !== undefined) rec.containerId = r.containerId;
      if (r.containerName !== undefined) rec.containerName = r.containerName;
    }
    if (r.limit.basis === 'unverified') unverified = r.limit.limitBytes ?? undefined;
    rec.samples.push(r.sample);
  }
  if (stopped) rec.warnings.push(`${source}: ${stopped} object(s) from a stopped container (zero "read" time) skipped`);
  if (unverified !== undefined) {
    rec.warnings.push(`${source}: cgroup v2 stats report a limit of ${unverified} bytes, which may be the host's total memory (Docker's stand-in for "no limit"); pass the host memory (docker info MemTotal) to decide`);
  }
  if (rec.samples.length === 0) throw new InputError(source, 'no stats objects with memory data (only a cut-off line or a stopped container)');
  return rec;
}

/** Reads a recorded stream from a file. */
export async function readDockerStatsFile(path: string, options: Omit<DockerStatsOptions, 'source' | 'line'> = {}): Promise<DockerStatsRecording> {
  return parseDockerStatsLines(await readFile(path, 'utf8'), path, options);
}
