import { InputError } from '../errors.ts';
import type { MemorySample } from '../model/sample.ts';
import type { NoData } from '../model/no-data.ts';
import { noData } from '../model/no-data.ts';
import { EnvelopeSeries } from '../model/series.ts';
import { byteCountProblem, counterProblem, sampleProblem } from './checks.ts';
import { TimestampOrder, timestampProblem } from './clock.ts';
import { cgroupFieldNames, memoryStatProblem, sampleFromSnapshot } from './cgroup.ts';
import { forEachLineOfFile, forEachLineOfText } from './files.ts';
import { JsonLines } from './json-lines.ts';

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
  /** "Now" for the plausibility of the `read` time; Date.now() by default. */
  nowMs?: number;
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
 * `read` = "0001-01-01T00:00:00Z" and an empty `memory_stats`. Every value taken is checked
 * (docs/formats.md, "Validation"): an impossible one is an InputError naming the field.
 */
export function parseDockerStatsObject(value: unknown, options: DockerStatsOptions = {}): DockerStatsObject | NoData {
  const source = options.source ?? 'docker stats';
  const at = options.line !== undefined ? { line: options.line } : {};
  const fail = (message: string): never => {
    throw new InputError(source, message, at);
  };
  if (!isObj(value)) return fail('expected a Docker Engine API stats object (GET /containers/{id}/stats)');
  if ('MemUsage' in value || 'MemPerc' in value) {
    fail('this is `docker stats --format json` output (rounded strings like "1.2MiB / 2GiB"); record the Engine API stream instead: curl --unix-socket /var/run/docker.sock http://localhost/containers/ID/stats');
  }
  if (value.memory_stats === undefined) fail('no "memory_stats" object: expected a Docker Engine API stats object (GET /containers/{id}/stats)');
  if (!isObj(value.memory_stats)) fail(`field "memory_stats" must be an object, got ${brief(value.memory_stats)}`);
  const ms = value.memory_stats as Obj;
  const read = value.read;
  if (typeof read !== 'string') return fail('field "read" (the sample time, RFC 3339) is missing');
  if (value.id !== undefined && typeof value.id !== 'string') fail(`field "id" must be a string, got ${brief(value.id)}`);
  if (value.name !== undefined && typeof value.name !== 'string') fail(`field "name" must be a string, got ${brief(value.name)}`);
  const timestampMs = Date.parse(read);
  if (!Number.isFinite(timestampMs)) fail(`field "read" is not an RFC 3339 time: ${JSON.stringify(read.slice(0, 40))}`);
  if (read.startsWith('0001-01-01') || ms.usage === undefined) {
    if ('commitbytes' in ms || 'privateworkingset' in ms) return noData('Windows container: the stats carry no cgroup memory breakdown');
    return noData('the container is not running (zero "read" time / no memory usage)');
  }
  const late = timestampProblem(timestampMs, options.nowMs ?? Date.now());
  if (late) fail(`field "read" ${JSON.stringify(read.slice(0, 40))}: ${late}`);
  const usageProblem = byteCountProblem(ms.usage);
  if (usageProblem) fail(`memory_stats.usage ${usageProblem}`);
  if (ms.limit !== undefined && !(typeof ms.limit === 'number' && ms.limit >= V1_UNLIMITED_THRESHOLD)) {
    const p = byteCountProblem(ms.limit);
    if (p) fail(`memory_stats.limit ${p}`);
  }
  if (ms.stats !== undefined && ms.stats !== null && !isObj(ms.stats)) fail(`memory_stats.stats must be an object (memory.stat), got ${brief(ms.stats)}`);
  const stat = { ...((isObj(ms.stats) ? ms.stats : {}) as Record<string, number>) };
  const statProblem = memoryStatProblem(stat);
  if (statProblem) fail(`memory_stats.stats.${statProblem.key} ${statProblem.problem}`);
  let failCount: number | undefined;
  if (ms.failcnt !== undefined) {
    const p = counterProblem(ms.failcnt);
    if (p) fail(`memory_stats.failcnt ${p}`);
    failCount = ms.failcnt as number;
  }
  const cgroupVersion: 1 | 2 = 'anon' in stat || 'file' in stat ? 2 : 1;
  const limit = dockerMemoryLimit(ms, cgroupVersion, options.hostMemoryBytes);
  // hierarchical_memory_limit is already folded into `limit`; keep sampleFromSnapshot from re-deciding.
  const { hierarchical_memory_limit: _hier, ...statForSample } = stat;
  const sample = sampleFromSnapshot({ timestampMs, version: cgroupVersion, stat: statForSample, usageBytes: ms.usage as number, limitBytes: limit.limitBytes, ...(failCount !== undefined ? { failCount } : {}) });
  const relation = sampleProblem(sample, cgroupFieldNames(stat, cgroupVersion, 'memory_stats.stats.', 'memory_stats.usage', 'memory_stats.limit'));
  if (relation) fail(`${relation.field}: ${relation.reason}`);
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

export interface DockerStatsRecordingOptions {
  /** Total memory of the Docker host in bytes (GET /info MemTotal); lets v2 limits be verified. */
  hostMemoryBytes?: number;
  /** "Now" for the plausibility of timestamps; Date.now() by default. */
  nowMs?: number;
  /** Buckets of the downsampled series (src/model/series.ts); its default when absent. */
  maxBuckets?: number;
  /**
   * Which container to keep when the stream holds several (`analyze --container`): its name
   * (with or without the leading "/") or its id or an id prefix of at least 4 characters.
   */
  container?: string;
}

/** One container's part of a stream. */
interface ContainerPart {
  id: string | undefined;
  name: string | undefined;
  /** First line of the container in the file, for messages. */
  firstLine: number;
  objects: number;
  selected: boolean;
  cgroupVersion?: 1 | 2;
  order: TimestampOrder;
  series: EnvelopeSeries<MemorySample> | undefined;
  stopped: number;
  unverifiedLimit?: number | undefined;
}

const describeContainer = (c: { id: string | undefined; name: string | undefined }) =>
  c.name !== undefined ? `${c.name}${c.id !== undefined ? ` (${c.id.slice(0, 12)})` : ''}` : c.id !== undefined ? c.id.slice(0, 12) : '(no id or name)';

/**
 * A recorded stats stream, fed one line at a time: one JSON object per line (`curl --unix-socket
 * ... /containers/ID/stats`, or dockerode's stream written line by line). A line that is not JSON
 * is an InputError naming the file and line, except the last line when it is a JSON object cut
 * short, which is what stopping a recording leaves behind: it is skipped with a warning.
 *
 * Objects are told apart by container (`id`, else `name`): a file holding the streams of several
 * containers is an InputError naming them, unless `container` picks one. Each container's samples
 * are checked for a plausible order in time on their own.
 */
export class DockerStatsRecordingParser {
  readonly #source: string;
  readonly #options: DockerStatsRecordingOptions;
  readonly #lines: JsonLines;
  readonly #parts = new Map<string, ContainerPart>();

  constructor(source: string, options: DockerStatsRecordingOptions = {}) {
    this.#source = source;
    this.#options = options;
    this.#lines = new JsonLines(source, 'stats object');
  }

  line(line: number, text: string): void {
    const value = this.#lines.parse(line, text);
    if (value === undefined) return;
    const o = isObj(value) ? value : undefined;
    const id = typeof o?.id === 'string' ? o.id : undefined;
    const name = typeof o?.name === 'string' ? o.name.replace(/^\//, '') : undefined;
    const key = id ?? (name !== undefined ? `name:${name}` : '');
    let part = this.#parts.get(key);
    if (!part) {
      const selected = this.#selects(id, name);
      part = { id, name, firstLine: line, objects: 0, selected, order: new TimestampOrder(), series: selected ? this.#newSeries() : undefined, stopped: 0 };
      this.#parts.set(key, part);
    }
    part.objects++;
    if (!part.selected) return;
    const r = parseDockerStatsObject(value, { source: this.#source, line, nowMs: this.#options.nowMs ?? Date.now(), ...(this.#options.hostMemoryBytes !== undefined ? { hostMemoryBytes: this.#options.hostMemoryBytes } : {}) });
    if ('kind' in r) {
      part.stopped++;
      return;
    }
    const order = part.order.push(r.sample.timestampMs, line);
    if (order) throw new InputError(this.#source, `field "read": ${order.reason}`, { line: order.line });
    part.cgroupVersion ??= r.cgroupVersion;
    if (r.limit.basis === 'unverified') part.unverifiedLimit = r.limit.limitBytes ?? undefined;
    part.series!.add(r.sample);
  }

  end(): DockerStatsRecording {
    const warnings = this.#lines.end();
    if (this.#parts.size === 0) throw new InputError(this.#source, 'no stats objects: the file is empty (expected one Docker Engine API stats JSON object per line)');
    const all = [...this.#parts.values()];
    const list = (parts: ContainerPart[]) => parts.map((p) => `${describeContainer(p)}, ${p.objects} object(s) from line ${p.firstLine}`).join('; ');
    if (this.#options.container !== undefined && !all.some((p) => p.selected)) {
      throw new InputError(this.#source, `no container ${JSON.stringify(this.#options.container)} in the stream; it holds: ${list(all)}`);
    }
    // A container seen only stopped (zero-time objects) has nothing to analyse: it does not count.
    const selected = all.filter((p) => p.selected);
    const withData = selected.filter((p) => p.series!.added > 0);
    if (withData.length > 1) {
      const how = this.#options.container !== undefined ? `${JSON.stringify(this.#options.container)} matches ${withData.length} of them` : 'pick one with --container NAME|ID';
      throw new InputError(this.#source, `the stream holds the stats of ${withData.length} containers (${list(withData)}); ${how}`);
    }
    const part = withData[0];
    const stopped = selected.reduce((n, p) => n + p.stopped, 0);
    if (part === undefined) throw new InputError(this.#source, 'no stats objects with memory data (only a cut-off line or a stopped container)');
    const rec: DockerStatsRecording = { samples: part.series!.items(), warnings };
    if (part.cgroupVersion !== undefined) rec.cgroupVersion = part.cgroupVersion;
    if (part.id !== undefined) rec.containerId = part.id;
    if (part.name !== undefined) rec.containerName = part.name;
    if (stopped) warnings.push(`${this.#source}: ${stopped} object(s) from a stopped container (zero "read" time) skipped`);
    if (part.unverifiedLimit !== undefined) {
      warnings.push(`${this.#source}: cgroup v2 stats report a limit of ${part.unverifiedLimit} bytes, which may be the host's total memory (Docker's stand-in for "no limit"); pass the host memory (docker info MemTotal) to decide`);
    }
    return rec;
  }

  #selects(id: string | undefined, name: string | undefined): boolean {
    const want = this.#options.container;
    if (want === undefined) return true;
    const w = want.replace(/^\//, '');
    return w === name || w === id || (id !== undefined && w.length >= 4 && id.startsWith(w));
  }

  #newSeries(): EnvelopeSeries<MemorySample> {
    return new EnvelopeSeries<MemorySample>({ time: (s) => s.timestampMs, value: (s) => s.usageBytes, ...(this.#options.maxBuckets !== undefined ? { maxBuckets: this.#options.maxBuckets } : {}) });
  }
}

/** A recorded stream already in memory (tests, small inputs). */
export function parseDockerStatsLines(text: string, source: string, options: DockerStatsRecordingOptions = {}): DockerStatsRecording {
  const parser = new DockerStatsRecordingParser(source, options);
  forEachLineOfText(text, (line, t) => parser.line(line, t));
  return parser.end();
}

/** Reads a recorded stream from a file, as a stream. */
export async function readDockerStatsFile(path: string, options: DockerStatsRecordingOptions = {}): Promise<DockerStatsRecording> {
  const parser = new DockerStatsRecordingParser(path, options);
  await forEachLineOfFile(path, 'a Docker stats recording', (line, t) => parser.line(line, t));
  return parser.end();
}

function brief(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
