// A bounded, decimating series: any number of timed items in, at most 2 x maxBuckets + 2 kept.
//
// Until it holds more than 2 x maxBuckets items it keeps every one (short recordings are analysed
// as they are). Past that, time is cut into equal buckets (a power of two of milliseconds wide,
// from the first item's time) and each bucket keeps two items: the one with the lowest value and
// the one with the highest. When there are more than maxBuckets buckets, the width doubles and
// neighbours merge (the lower of the two minima, the higher of the two maxima), so a stream of any
// length is read in bounded memory and the buckets always span the whole window at an even width.
// The first and the last item are always kept, so the window keeps its exact start and end.
//
// Why minimum AND maximum: the engine fits trends to the lower envelope (the floor a sawtooth
// returns to after each GC or reclaim), finds plateaus and restarts (a sudden fall), and reports
// peaks. Each bucket's minimum keeps the floor and any fall, its maximum keeps the peaks.
//
// Why whole items rather than a minimum and maximum per field: a sample's fields come from one
// instant (usage, anon, file, the Go heap read together), and the engine derives components from
// them (non-reclaimable = usage - active_file - inactive_file, ...). A bucket's "minimum usage"
// and "minimum file" from different instants would be a sample that never existed, and their
// difference a component that never existed either. So the item is chosen by one value (usage,
// for memory samples) and kept whole.
//
// Edge cases: 0 items -> []; 1 item -> [it]; items at one instant -> one bucket (its minimum and
// maximum, plus the first and last items). Items may arrive out of order (a clock stepping back):
// each goes to the bucket of its time; the output is always sorted by time.

export interface EnvelopeSeriesOptions<T> {
  /** The item's time, milliseconds. */
  time: (item: T) => number;
  /** The value whose minimum and maximum a bucket keeps. */
  value: (item: T) => number;
  /** Buckets kept at most; 10,000 by default (up to 20,002 items). */
  maxBuckets?: number;
}

interface Bucket<T> {
  key: number;
  min: T;
  max: T;
}

export const DEFAULT_MAX_BUCKETS = 10_000;

export class EnvelopeSeries<T> {
  readonly #time: (item: T) => number;
  readonly #value: (item: T) => number;
  readonly #maxBuckets: number;
  /** Every item, until there are too many; then null and the buckets hold them. */
  #raw: T[] | null = [];
  #buckets: Bucket<T>[] = [];
  #originMs = 0;
  #widthMs = 0;
  #first: T | undefined;
  #last: T | undefined;
  #added = 0;

  constructor(options: EnvelopeSeriesOptions<T>) {
    this.#time = options.time;
    this.#value = options.value;
    this.#maxBuckets = Math.max(2, Math.floor(options.maxBuckets ?? DEFAULT_MAX_BUCKETS));
  }

  /** Items added so far (kept or not). */
  get added(): number {
    return this.#added;
  }

  /** Bucket width in milliseconds; 0 while every item is kept. */
  get bucketWidthMs(): number {
    return this.#widthMs;
  }

  add(item: T): void {
    this.#added++;
    const t = this.#time(item);
    if (this.#first === undefined || t < this.#time(this.#first)) this.#first = item;
    if (this.#last === undefined || t >= this.#time(this.#last)) this.#last = item;
    if (this.#raw !== null) {
      this.#raw.push(item);
      if (this.#raw.length > 2 * this.#maxBuckets) this.#toBuckets();
      return;
    }
    this.#put(item);
    while (this.#buckets.length > this.#maxBuckets) this.#coarsen();
  }

  /** The items kept, in time order (stable for equal times). */
  items(): T[] {
    const time = this.#time;
    if (this.#raw !== null) return stableSortByTime(this.#raw, time);
    const kept = new Set<T>();
    for (const b of this.#buckets) {
      kept.add(b.min);
      kept.add(b.max);
    }
    if (this.#first !== undefined) kept.add(this.#first);
    if (this.#last !== undefined) kept.add(this.#last);
    return stableSortByTime([...kept], time);
  }

  #toBuckets(): void {
    const raw = this.#raw!;
    this.#raw = null;
    this.#originMs = raw.reduce((m, item) => Math.min(m, this.#time(item)), Infinity);
    this.#widthMs = 1;
    for (const item of raw) {
      this.#put(item);
      while (this.#buckets.length > this.#maxBuckets) this.#coarsen();
    }
  }

  #put(item: T): void {
    const key = Math.floor((this.#time(item) - this.#originMs) / this.#widthMs);
    const buckets = this.#buckets;
    const lastBucket = buckets[buckets.length - 1];
    if (lastBucket === undefined || key > lastBucket.key) {
      buckets.push({ key, min: item, max: item });
      return;
    }
    // Out of order or the same bucket: find it (binary search; the newest bucket is the usual hit).
    let lo = 0;
    let hi = buckets.length - 1;
    if (lastBucket.key === key) lo = hi;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (buckets[mid]!.key < key) lo = mid + 1;
      else hi = mid;
    }
    const b = buckets[lo]!;
    if (b.key !== key) {
      buckets.splice(b.key > key ? lo : lo + 1, 0, { key, min: item, max: item });
      return;
    }
    this.#merge(b, item, item);
  }

  #merge(into: Bucket<T>, min: T, max: T): void {
    const v = this.#value;
    if (v(min) < v(into.min) || (v(min) === v(into.min) && this.#time(min) < this.#time(into.min))) into.min = min;
    if (v(max) > v(into.max) || (v(max) === v(into.max) && this.#time(max) > this.#time(into.max))) into.max = max;
  }

  /** Doubles the width: neighbours whose keys halve to the same key merge. */
  #coarsen(): void {
    this.#widthMs *= 2;
    const merged: Bucket<T>[] = [];
    for (const b of this.#buckets) {
      const key = Math.floor(b.key / 2);
      const prev = merged[merged.length - 1];
      if (prev !== undefined && prev.key === key) this.#merge(prev, b.min, b.max);
      else merged.push({ key, min: b.min, max: b.max });
    }
    this.#buckets = merged;
  }
}

function stableSortByTime<T>(items: T[], time: (item: T) => number): T[] {
  return items
    .map((item, i) => ({ item, i, t: time(item) }))
    .sort((a, b) => a.t - b.t || a.i - b.i)
    .map((x) => x.item);
}
