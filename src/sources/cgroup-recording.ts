import { InputError } from '../errors.ts';
import type { MemorySample } from '../model/sample.ts';
import { EnvelopeSeries } from '../model/series.ts';
import { sampleProblem } from './checks.ts';
import { TimestampOrder } from './clock.ts';
import { cgroupFieldNames, sampleFromSnapshot, snapshotFromJson } from './cgroup.ts';
import { forEachLineOfFile, forEachLineOfText } from './files.ts';
import { JsonLines } from './json-lines.ts';

/**
 * A recording of cgroup snapshots, one JSON object per line (docs/formats.md), as written by
 * `memaudit run --record` and read by `memaudit analyze --cgroup`. Read line by line: each line is
 * checked (values, how they relate, its time and its place in time) and goes into a bounded
 * series, so a recording of any length is read in bounded memory.
 */
export interface RecordingOptions {
  /** "Now" for the plausibility of timestamps (injectable for tests); Date.now() by default. */
  nowMs?: number;
  /** Buckets of the downsampled series (src/model/series.ts); its default when absent. */
  maxBuckets?: number;
}

export interface CgroupRecording {
  samples: MemorySample[];
  warnings: string[];
}

/** Takes a recording's lines one at a time; `end()` gives the samples. */
export class CgroupRecordingParser {
  readonly #source: string;
  readonly #nowMs: number;
  readonly #lines: JsonLines;
  readonly #order = new TimestampOrder();
  readonly #series: EnvelopeSeries<MemorySample>;

  constructor(source: string, options: RecordingOptions = {}) {
    this.#source = source;
    this.#nowMs = options.nowMs ?? Date.now();
    this.#lines = new JsonLines(source, 'cgroup snapshot');
    this.#series = new EnvelopeSeries<MemorySample>({ time: (s) => s.timestampMs, value: (s) => s.usageBytes, ...(options.maxBuckets !== undefined ? { maxBuckets: options.maxBuckets } : {}) });
  }

  line(line: number, text: string): void {
    const value = this.#lines.parse(line, text);
    if (value === undefined) return;
    const snap = snapshotFromJson(value, this.#source, line, this.#nowMs);
    const sample = sampleFromSnapshot(snap);
    const o = value as Record<string, unknown>;
    const named = (...keys: string[]) => keys.find((k) => o[k] !== undefined) ?? keys[0]!;
    const statKey = named('stat', 'memory.stat');
    const names = cgroupFieldNames(snap.stat, snap.version, `${statKey}.`, named('usage', 'usageBytes', 'memory.current', 'memory.usage_in_bytes'), named('limit', 'limitBytes', 'memory.max', 'memory.limit_in_bytes'));
    const problem = sampleProblem(sample, names);
    if (problem) throw new InputError(this.#source, `${problem.field}: ${problem.reason}`, { line });
    const order = this.#order.push(sample.timestampMs, line);
    if (order) throw new InputError(this.#source, `field "ts": ${order.reason}`, { line: order.line });
    this.#series.add(sample);
  }

  end(): CgroupRecording {
    const warnings = this.#lines.end();
    if (this.#series.added === 0) throw new InputError(this.#source, 'no cgroup snapshots in the file (empty?); expected one JSON object per line (docs/formats.md)');
    return { samples: this.#series.items(), warnings };
  }
}

/** A recording already in memory (tests, small inputs). */
export function parseCgroupRecording(text: string, source: string, options: RecordingOptions = {}): CgroupRecording {
  const parser = new CgroupRecordingParser(source, options);
  forEachLineOfText(text, (line, t) => parser.line(line, t));
  return parser.end();
}

/** A recording file, read as a stream. */
export async function readCgroupRecording(path: string, options: RecordingOptions = {}): Promise<CgroupRecording> {
  const parser = new CgroupRecordingParser(path, options);
  await forEachLineOfFile(path, 'a cgroup recording', (line, t) => parser.line(line, t));
  return parser.end();
}
