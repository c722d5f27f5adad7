import type { MemorySample } from './sample.ts';

/**
 * A bounded series of samples for one container, for long-running front ends (the controller, the
 * live view): memory stays O(maxSamples) however long the audit runs.
 *
 * - Samples older than `windowSeconds` before the newest are dropped.
 * - Past `maxSamples`, the older half is thinned to every other sample, so recent data keeps full
 *   resolution and the whole window stays covered. The lower envelope the engine fits survives
 *   thinning well (a bucket keeps its share of samples); a single peak may be thinned away, so
 *   the series also remembers the highest usage sample it has seen in the window.
 * - Out-of-order or duplicate timestamps are ignored (a retried scrape).
 */
export interface SeriesOptions {
  maxSamples?: number;
  windowSeconds?: number;
}

export class SampleSeries {
  readonly maxSamples: number;
  readonly windowSeconds: number;
  #items: MemorySample[] = [];
  #peak: MemorySample | undefined;

  constructor(options: SeriesOptions = {}) {
    this.maxSamples = Math.max(16, options.maxSamples ?? 720);
    this.windowSeconds = options.windowSeconds ?? 6 * 3600;
  }

  get length(): number {
    return this.#items.length;
  }

  /** Adds a sample; returns false when it was ignored (not newer than the last one). */
  push(sample: MemorySample): boolean {
    const last = this.#items[this.#items.length - 1];
    if (last && sample.timestampMs <= last.timestampMs) return false;
    this.#items.push(sample);
    const cutoff = sample.timestampMs - this.windowSeconds * 1000;
    if (this.#items[0]!.timestampMs < cutoff) {
      let k = 0;
      while (k < this.#items.length && this.#items[k]!.timestampMs < cutoff) k++;
      this.#items.splice(0, k);
    }
    if (this.#peak && this.#peak.timestampMs < cutoff) this.#peak = this.#items.reduce((a, b) => (b.usageBytes > a.usageBytes ? b : a));
    if (!this.#peak || sample.usageBytes >= this.#peak.usageBytes) this.#peak = sample;
    if (this.#items.length > this.maxSamples) this.#thin();
    return true;
  }

  #thin(): void {
    const half = Math.floor(this.#items.length / 2);
    const older = this.#items.slice(0, half).filter((_, i) => i % 2 === 0);
    this.#items = older.concat(this.#items.slice(half));
  }

  /** The samples, oldest first (a copy). */
  samples(): MemorySample[] {
    return [...this.#items];
  }

  /** The highest-usage sample seen in the window, even if thinned away. */
  peak(): MemorySample | undefined {
    return this.#peak;
  }

  /** Restores a series from saved samples (e.g. after a controller restart). */
  static from(samples: readonly MemorySample[], options: SeriesOptions = {}): SampleSeries {
    const s = new SampleSeries(options);
    for (const x of [...samples].sort((a, b) => a.timestampMs - b.timestampMs)) s.push(x);
    return s;
  }
}
