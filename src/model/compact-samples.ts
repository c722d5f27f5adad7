// A container's samples over a window, held in a few kilobytes: what the controller keeps per
// audited container (24 h at 30 s: 2,880 samples in; about 190 kept in under 4 KiB).
//
// Shape. Time is cut into buckets of a fixed width (a power of two of milliseconds, aligned to
// the epoch, so every container's buckets line up); each bucket keeps two WHOLE samples: the one
// with the lowest floor key and the one with the highest (one sample when they are the same). The
// newest samples are kept as they came (at least RAW_KEPT of them, up to COMPACT_AFTER before the
// next compaction buckets the older ones). The width grows (doubling, neighbours merged: the
// lower of the two lows, the higher of the two highs) so that the window never holds more than
// maxBuckets buckets: 128 by default, so 24 h is 83 buckets of 17.5 min, an hour 113 of 32 s,
// and a short recording keeps every sample.
//
// Why whole samples chosen by one key, rather than each component's minimum and maximum: a
// sample's fields come from one instant, and the engine derives components from several of them
// (non-reclaimable = usage - active_file - inactive_file, shmem = file - the file LRU, ...). A
// bucket's "minimum usage" and "minimum inactive_file" from different instants would make a
// component that never existed. So the two samples are kept whole, and their components stay
// consistent with each other.
//
// Why the floor key is usage minus the clean page cache (usage - active_file - inactive_file
// when the sample has the file LRU, usage - cache when it has only the cache, else usage): that is
// the non-reclaimable memory the verdict turns on. The low sample of each bucket is then the floor
// a sawtooth returns to (what the engine's lower envelope fits: a leak lifts it), the high one its
// peak (what the recommended limit must hold), and a restart's sudden fall keeps both of its ends.
// Keyed by usage instead, a container whose page cache sits at its limit (usage flat) would keep
// arbitrary instants of its anonymous memory, and a leak under a full cache would blur.
//
// Values are quantised: sizes to QUANTUM_BYTES (64 KiB, rounded to the nearest: an error of at
// most 32 KiB, far below the engine's smallest growth of 1 MiB); counters, the limit and times
// (milliseconds) are kept exactly. Each sample is coded as varint deltas from the sample before it
// (memory moves by a few quanta between samples: a byte or two per field), with a header byte
// saying what changed (the fields present, the limit, the incarnation). Most fields do not move
// at all from one sample to the next at 64 KiB (three in four of the field deltas of the
// labelled traces are 0: the kernel's, slab, mapped, the counters, the file LRU of a process
// that writes nothing), so a sample whose unchanged fields outnumber the bytes of a bitmap over
// its fields (a bit each: changed or not) codes that bitmap and the changed fields' deltas only;
// the coder chooses per sample. The bytes held are the bytes persisted (encode / decode).
// Format 1 (every field's delta coded, the header's flags in one byte) is still read: decode
// codes it again as format 2.
//
// Edge cases: 0 samples -> []; a sample not newer than the last is refused (add returns false);
// fields a sample lacks stay undefined after decoding (never 0).
import type { GoRuntimeSample, MemoryEvents, MemorySample } from './sample.ts';

/** Sizes are kept to this many bytes. */
export const QUANTUM_BYTES = 64 * 1024;
export const DEFAULT_MAX_BUCKETS = 128;

type Getter = (s: MemorySample) => number | undefined;
type Setter = (s: MemorySample, v: number) => void;

interface Field {
  get: Getter;
  set: Setter;
  /** Sizes are quantised; counters are exact. */
  size: boolean;
}

const go = (s: MemorySample): GoRuntimeSample => (s.go ??= { heapInuseBytes: 0 });
const events = (s: MemorySample): MemoryEvents => (s.memoryEvents ??= {});
const plain = (k: keyof MemorySample, size: boolean): Field => ({ get: (s) => s[k] as number | undefined, set: (s, v) => ((s as unknown as Record<string, number>)[k] = v), size });

/**
 * The fields kept, in coding order (the order is the format: append only). Of MemStats only what
 * the engine reads (the heap and stack in use, the GC count); the rest of runtime.MemStats is not
 * kept.
 */
const FIELDS: readonly Field[] = [
  plain('usageBytes', true),
  plain('workingSetBytes', true),
  plain('anonBytes', true),
  plain('fileBytes', true),
  plain('shmemBytes', true),
  plain('activeFileBytes', true),
  plain('inactiveFileBytes', true),
  plain('activeAnonBytes', true),
  plain('inactiveAnonBytes', true),
  plain('mappedFileBytes', true),
  plain('dirtyBytes', true),
  plain('writebackBytes', true),
  plain('kernelBytes', true),
  plain('slabReclaimableBytes', true),
  plain('slabUnreclaimableBytes', true),
  plain('kernelStackBytes', true),
  plain('sockBytes', true),
  plain('rssBytes', true),
  { get: (s) => s.go?.heapInuseBytes, set: (s, v) => (go(s).heapInuseBytes = v), size: true },
  { get: (s) => s.go?.stackInuseBytes, set: (s, v) => (go(s).stackInuseBytes = v), size: true },
  plain('failCount', false),
  plain('majorFaultCount', false),
  plain('refaultFilePages', false),
  plain('refaultAnonPages', false),
  plain('pressureSomeMicros', false),
  plain('pressureFullMicros', false),
  { get: (s) => s.memoryEvents?.low, set: (s, v) => (events(s).low = v), size: false },
  { get: (s) => s.memoryEvents?.high, set: (s, v) => (events(s).high = v), size: false },
  { get: (s) => s.memoryEvents?.max, set: (s, v) => (events(s).max = v), size: false },
  { get: (s) => s.memoryEvents?.oom, set: (s, v) => (events(s).oom = v), size: false },
  { get: (s) => s.memoryEvents?.oomKill, set: (s, v) => (events(s).oomKill = v), size: false },
  { get: (s) => s.go?.numGc, set: (s, v) => (go(s).numGc = v), size: false },
];
const NF = FIELDS.length;

/** The value a bucket's two samples are chosen by (see the top of the file). */
export function floorKeyBytes(s: MemorySample): number {
  if (s.activeFileBytes !== undefined && s.inactiveFileBytes !== undefined) return s.usageBytes - s.activeFileBytes - s.inactiveFileBytes;
  if (s.fileBytes !== undefined) return s.usageBytes - s.fileBytes;
  return s.usageBytes;
}

// A coded sample: the header byte, [the extension byte], [the weight], the time (the first
// sample's absolute, then the delta from the one before), [the mask], [the limit], [the
// incarnation], [the bitmap of changed fields], the values' zigzag varint deltas.
const H_EXT = 1; // the extension byte follows: something besides the values changed (X_*)
const H_CHANGED = 2; // a bitmap over the present fields follows (bit k: the k-th one changed); only their deltas follow
/** Bits 2-7: how many samples taken this one stands for (0-62; 63: a varint follows). */
const H_WEIGHT_SHIFT = 2;
const H_WEIGHT_MAX = 63;
// The extension byte (in format 1, these were the header's bits 0-2, its weight bits 3-7, 31: a varint).
const X_MASK = 1; // the fields present changed: a varint mask follows
const X_LIMIT = 2; // the limit changed: a varint (bytes; 0 = none) follows
const X_INSTANCE = 4; // the incarnation changed: a varint (0 = none, k = instances[k - 1]) follows
const ALL_CHANGED = 0xffffffff;

/** What precedes a sample's values, read by readHead into one reused object. */
interface Head {
  weight: number;
  /** The time: absolute for the first sample, else the delta from the one before. */
  dt: number;
  mask: number;
  /** Fields in the mask. */
  present: number;
  limit: number;
  instance: number;
  /** Bit k: the k-th present field's delta is coded (ALL_CHANGED: every one is). */
  changed: number;
}

/** Reads a sample's head; mask, limit and incarnation stay as they were unless the sample changes them. */
function readHead(r: Reader, h: Head, format: number): void {
  const header = r.byte();
  let ext: number;
  let weight: number;
  if (format === 1) {
    ext = header & 7;
    weight = header >> 3;
    if (weight === 31) weight = r.uint();
  } else {
    ext = header & H_EXT ? r.byte() : 0;
    weight = header >> H_WEIGHT_SHIFT;
    if (weight === H_WEIGHT_MAX) weight = r.uint();
  }
  h.weight = weight;
  h.dt = r.uint();
  if (ext & X_MASK) {
    h.mask = r.uint();
    h.present = popcount(h.mask);
  }
  if (ext & X_LIMIT) h.limit = r.uint();
  if (ext & X_INSTANCE) h.instance = r.uint();
  if (format !== 1 && header & H_CHANGED) {
    let bits = 0;
    for (let k = 0; k < h.present; k += 8) bits |= r.byte() << k;
    h.changed = bits >>> 0;
  } else h.changed = ALL_CHANGED;
}

const newHead = (mask: number, limit: number, instance: number): Head => ({ weight: 0, dt: 0, mask, present: popcount(mask), limit, instance, changed: ALL_CHANGED });

export interface CompactSamplesOptions {
  maxBuckets?: number;
}

/** Samples decoded into columns (sizes in quanta, NaN where absent), for compaction and reading. */
interface Rows {
  n: number;
  t: Float64Array;
  /** n x NF field units. */
  v: Float64Array;
  limit: Float64Array;
  instance: Int32Array;
  /** How many samples taken each stands for: 1 as taken; a bucket's count on its earlier sample, 0 on the other. */
  w: Float64Array;
}

/**
 * Where decoding starts: the byte offset, the samples before it, and the delta state there (each
 * field's last value, by slot; the limit last; the fields present, the incarnation, the time of
 * the sample before).
 */
interface Cursor {
  offset: number;
  count: number;
  /** A plain array: a typed one costs some 200 bytes more, in a backing store of its own, and one is held per container. */
  base: number[];
  mask: number;
  instance: number;
  lastMs: number;
}

/** The largest a coded sample can be: header, extension, weight, time, mask, limit, incarnation, bitmap, every field. */
const MAX_SAMPLE_BYTES = 2 + 8 + 8 + 8 + 8 + 8 + 4 + NF * 8;

export class CompactSamples {
  #maxBuckets: number;
  #widthMs = 1;
  #bytes: Uint8Array = EMPTY;
  #length = 0;
  #count = 0;
  /** Fields any held sample had: the slots of the delta bases (slotOf). */
  #fields = 0;
  /** After the last sample: the base of the next delta. */
  #end: Cursor = emptyCursor(0);
  /**
   * Where the open part starts, in samples: the last bucket and the samples after it, which the
   * next compaction buckets again (the older buckets are final until the width grows or the
   * window moves past them). Its delta state is read again then (#cursorAt), not held.
   */
  #openAt = 0;
  /** Samples after the bucketed part. */
  #raw = 0;
  #firstMs = NaN;
  #pruneBeforeMs = -Infinity;
  /** Samples taken that the held ones stand for, the pruned ones too (the weights summed, kept as they are coded). */
  #takenHeld = 0;
  /** Of those, the ones older than the prune point: found by reading the oldest few samples after a prune (-1: to be read). */
  #takenPruned = 0;
  readonly #instances: string[] = [];
  /** The coding of #bytes: FORMAT, or 1 between decoding format 1 and coding it again. */
  #format = FORMAT;

  constructor(options: CompactSamplesOptions = {}) {
    this.#maxBuckets = Math.max(4, Math.floor(options.maxBuckets ?? DEFAULT_MAX_BUCKETS));
  }

  get maxBuckets(): number {
    return this.#maxBuckets;
  }

  /** A copy held in at most `maxBuckets` buckets (coarser when fewer than now), the counts of samples taken kept. */
  coarsened(maxBuckets: number): CompactSamples {
    const c = CompactSamples.decode(this.encode());
    c.#pruneBeforeMs = this.#pruneBeforeMs;
    c.#maxBuckets = Math.max(4, Math.floor(maxBuckets));
    if (c.#count > 0) c.#rebuild();
    return c;
  }

  /** Samples held. */
  get length(): number {
    return this.#count;
  }

  /** Samples taken that the ones held stand for (within the window: those older than the prune point left out). */
  get taken(): number {
    if (this.#takenPruned < 0) this.#takenPruned = this.#weightBefore(this.#pruneBeforeMs);
    return this.#takenHeld - this.#takenPruned;
  }

  /** Bytes of the coded samples (what is persisted, with a header and the incarnations' names). */
  get byteLength(): number {
    return this.#length;
  }

  /** Bytes held in memory for the samples: the buffer, the two delta states and the incarnation names. */
  get heldBytes(): number {
    return this.#bytes.byteLength + 8 * this.#end.base.length + this.#instances.reduce((a, s) => a + 16 + s.length, 0);
  }

  /** Bucket width in milliseconds. */
  get bucketWidthMs(): number {
    return this.#widthMs;
  }

  get lastTimestampMs(): number | undefined {
    return this.#count ? this.#end.lastMs : undefined;
  }

  get firstTimestampMs(): number | undefined {
    return this.#count ? Math.max(this.#firstMs, this.#pruneBeforeMs) : undefined;
  }

  /** Appends a sample; false (nothing kept) unless it is newer than the last one. */
  add(sample: MemorySample): boolean {
    if (this.#count > 0 && !(sample.timestampMs > this.#end.lastMs)) return false;
    const v = SCRATCH_UNITS;
    let mask = 0;
    for (let f = 0; f < NF; f++) {
      const x = FIELDS[f]!.get(sample);
      if (x === undefined || !Number.isFinite(x)) v[f] = NaN;
      else {
        v[f] = FIELDS[f]!.size ? Math.round(x / QUANTUM_BYTES) : Math.round(x);
        mask |= 1 << f;
      }
    }
    this.#widen(mask >>> 0);
    const limit = sample.limitBytes !== undefined && sample.limitBytes > 0 ? Math.round(sample.limitBytes) : 0;
    this.#append(sample.timestampMs, v, 0, limit, this.#instanceIndex(sample.instance), 1);
    if (sample.timestampMs < this.#pruneBeforeMs) this.#takenPruned = -1;
    this.#raw++;
    if (this.#raw > COMPACT_AFTER) this.#compact();
    return true;
  }

  /** Forgets samples older than fromMs (from the next read on; the bytes go at a later compaction). */
  prune(fromMs: number): void {
    if (fromMs <= this.#pruneBeforeMs) return;
    this.#pruneBeforeMs = fromMs;
    if (this.#count > 0 && this.#firstMs < fromMs) this.#takenPruned = -1;
    if (this.#count > 0 && this.#end.lastMs < fromMs) this.clear();
  }

  clear(): void {
    this.#bytes = EMPTY;
    this.#length = this.#count = this.#raw = this.#fields = 0;
    this.#end = emptyCursor(0);
    this.#openAt = 0;
    this.#instances.length = 0;
    this.#firstMs = NaN;
    this.#takenHeld = this.#takenPruned = 0;
  }

  /** The samples held, oldest first (quantised sizes; the window's older part two per bucket). */
  samples(): MemorySample[] {
    const rows = this.#decode(emptyCursor(this.#fields));
    const out: MemorySample[] = [];
    for (let i = 0; i < rows.n; i++) if (rows.t[i]! >= this.#pruneBeforeMs) out.push(this.#sampleOf(rows.t[i]!, rows.v, i * NF, rows.limit[i]!, rows.instance[i]!));
    return out;
  }

  /** The newest sample held (from the delta state: no decoding). */
  last(): MemorySample | undefined {
    if (this.#count === 0 || this.#end.lastMs < this.#pruneBeforeMs) return undefined;
    // A scratch, not a new Float64Array: 32 doubles are past V8's on-heap size, so each would be a
    // backing store of its own, and this runs for every target every round (evaluate.ts).
    const v = SCRATCH_LAST.fill(NaN);
    for (let f = 0; f < NF; f++) if ((this.#end.mask >>> f) & 1) v[f] = this.#end.base[slotOf(this.#fields, f)]!;
    return this.#sampleOf(this.#end.lastMs, v, 0, this.#end.base[this.#end.base.length - 1]!, this.#end.instance);
  }

  /** The persisted form: a small header and the coded samples, as held. */
  encode(): Uint8Array {
    const head = new Writer();
    head.uint(FORMAT);
    head.uint(this.#maxBuckets);
    head.uint(log2(this.#widthMs));
    head.uint(this.#count);
    head.uint(this.#raw);
    head.uint(this.#instances.length);
    const names = this.#instances.map((s) => Buffer.from(s, 'utf8'));
    for (const b of names) head.uint(b.length);
    head.uint(this.#length);
    const out = new Uint8Array(head.length + names.reduce((a, b) => a + b.length, 0) + this.#length);
    out.set(head.bytes(), 0);
    let at = head.length;
    for (const b of names) {
      out.set(b, at);
      at += b.length;
    }
    out.set(this.#bytes.subarray(0, this.#length), at);
    return out;
  }

  static decode(bytes: Uint8Array): CompactSamples {
    const r = new Reader(bytes, 0);
    const format = r.uint();
    if (format !== FORMAT && format !== 1) throw new Error(`compact samples: unknown format ${format}`);
    const c = new CompactSamples({ maxBuckets: r.uint() });
    c.#format = format;
    c.#widthMs = 2 ** r.uint();
    const count = r.uint();
    const raw = r.uint();
    const lengths = Array.from({ length: r.uint() }, () => r.uint());
    const length = r.uint();
    let at = r.pos;
    for (const n of lengths) {
      if (at + n > bytes.length) throw new Error('compact samples: truncated');
      c.#instances.push(Buffer.from(bytes.buffer, bytes.byteOffset + at, n).toString('utf8'));
      at += n;
    }
    if (at + length > bytes.length) throw new Error('compact samples: truncated');
    c.#bytes = bytes.slice(at, at + length);
    c.#length = length;
    c.#count = count;
    c.#fields = 0xffffffff;
    // Decoded once with every slot, to learn the fields and the state after the last sample.
    const wide = emptyCursor(c.#fields);
    const rows = c.#decode(wide);
    let fields = 0;
    for (let i = 0; i < rows.n * NF; i++) if (rows.v[i] === rows.v[i]) fields |= 1 << i % NF;
    c.#fields = 0;
    c.#end = emptyCursor(0);
    c.#widen(fields >>> 0);
    for (let f = 0; f < NF; f++) if ((c.#fields >>> f) & 1) c.#end.base[slotOf(c.#fields, f)] = wide.base[f]!;
    c.#end.base[c.#end.base.length - 1] = wide.base[wide.base.length - 1]!;
    c.#end.mask = wide.mask;
    c.#end.instance = wide.instance;
    c.#end.lastMs = wide.lastMs;
    c.#end.offset = length;
    c.#end.count = count;
    if (rows.n > 0) c.#firstMs = rows.t[0]!;
    // The open part is re-learnt by a rebuild at the next compaction.
    c.#openAt = 0;
    c.#raw = raw;
    for (let i = 0; i < rows.n; i++) c.#takenHeld += rows.w[i]!;
    c.#takenPruned = -1;
    if (c.#format !== FORMAT) c.#recode();
    return c;
  }

  /**
   * Samples taken that the held ones older than `ms` stand for: read from the oldest on, without
   * decoding (no arrays), and only as far as `ms`: after a prune, the few samples the window left.
   */
  #weightBefore(ms: number): number {
    if (this.#count === 0 || !(this.#firstMs < ms)) return 0;
    const r = new Reader(this.#bytes, 0, this.#length);
    const h = newHead(0, 0, 0);
    let t = 0;
    let w = 0;
    for (let i = 0; i < this.#count; i++) {
      readHead(r, h, this.#format);
      t = i === 0 ? h.dt : t + h.dt;
      if (t >= ms) break;
      w += h.weight;
      for (let k = 0; k < h.present; k++) if ((h.changed >>> k) & 1) r.uint();
    }
    return w;
  }

  #instanceIndex(instance: string | undefined): number {
    if (instance === undefined) return 0;
    // The newest incarnation is the usual one; older ones leave the table at a rebuild.
    for (let i = this.#instances.length - 1; i >= 0; i--) if (this.#instances[i] === instance) return i + 1;
    this.#instances.push(instance);
    return this.#instances.length;
  }

  #sampleOf(t: number, v: Float64Array, at: number, limit: number, instance: number): MemorySample {
    const s = { timestampMs: t } as MemorySample;
    for (let f = 0; f < NF; f++) {
      const u = v[at + f]!;
      if (u === u) FIELDS[f]!.set(s, FIELDS[f]!.size ? u * QUANTUM_BYTES : u);
    }
    if (limit > 0) s.limitBytes = limit;
    if (instance > 0) s.instance = this.#instances[instance - 1]!;
    return s;
  }

  /** Makes room in the delta states for fields not seen before. */
  #widen(mask: number): void {
    const fields = (this.#fields | mask) >>> 0;
    if (fields === this.#fields) return;
    const cursor = this.#end;
    const base = new Array<number>(popcount(fields) + 1).fill(NaN);
    for (let f = 0; f < NF; f++) if ((this.#fields >>> f) & 1) base[slotOf(fields, f)] = cursor.base[slotOf(this.#fields, f)]!;
    base[base.length - 1] = cursor.base[cursor.base.length - 1]!;
    cursor.base = base;
    this.#fields = fields;
  }

  /** Codes one sample after the last: field units v[at..at+NF) (NaN: absent). */
  #append(t: number, v: Float64Array, at: number, limit: number, instance: number, weight: number): void {
    let mask = 0;
    for (let f = 0; f < NF; f++) if (v[at + f] === v[at + f]) mask |= 1 << f;
    mask >>>= 0;
    const end = this.#end;
    const first = this.#count === 0;
    const limitSlot = end.base.length - 1;
    let ext = 0;
    if (first || mask !== end.mask) ext |= X_MASK;
    if (first || limit !== end.base[limitSlot]) ext |= X_LIMIT;
    if (first || instance !== end.instance) ext |= X_INSTANCE;
    // The values' zigzag deltas, and which changed (a field seen for the first time always has).
    const zz = SCRATCH_DELTAS;
    const fields = this.#fields;
    let present = 0;
    let changed = 0;
    for (let m = mask; m !== 0; m = (m & (m - 1)) >>> 0, present++) {
      const f = 31 - Math.clz32(m & -m);
      const slot = slotOf(fields, f);
      const u = v[at + f]!;
      const base = end.base[slot]!;
      const d = base === base ? u - base : u;
      zz[present] = d >= 0 ? 2 * d : -2 * d - 1;
      if (d !== 0 || base !== base) changed |= 1 << present;
      end.base[slot] = u;
    }
    changed >>>= 0;
    const mapBytes = (present + 7) >> 3;
    const withMap = present - popcount(changed) > mapBytes;
    const inline = Math.min(weight, H_WEIGHT_MAX);
    const b = SCRATCH_BYTES;
    let p = 0;
    b[p++] = (ext ? H_EXT : 0) | (withMap ? H_CHANGED : 0) | (inline << H_WEIGHT_SHIFT);
    if (ext) b[p++] = ext;
    if (inline === H_WEIGHT_MAX) p = putUint(b, p, weight);
    p = putUint(b, p, first ? t : t - end.lastMs);
    if (ext & X_MASK) p = putUint(b, p, mask);
    if (ext & X_LIMIT) p = putUint(b, p, limit);
    if (ext & X_INSTANCE) p = putUint(b, p, instance);
    if (withMap) for (let k = 0; k < mapBytes; k++) b[p++] = (changed >>> (8 * k)) & 255;
    for (let k = 0; k < present; k++) if (!withMap || (changed >>> k) & 1) p = putUint(b, p, zz[k]!);
    if (this.#length + p > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(64, Math.ceil((this.#length + p) * 1.25)));
      grown.set(this.#bytes.subarray(0, this.#length));
      this.#bytes = grown;
    }
    this.#bytes.set(b.subarray(0, p), this.#length);
    this.#length += p;
    end.base[limitSlot] = limit;
    end.mask = mask;
    end.instance = instance;
    if (first) this.#firstMs = t;
    end.lastMs = t;
    this.#count++;
    this.#takenHeld += weight;
    end.offset = this.#length;
    end.count = this.#count;
  }

  /**
   * The coded samples from `from` on, in columns. `from` ends as the state after the last one
   * (pass a copy to keep it). Its base is by slot of this.#fields, or by field when all 32 are set.
   */
  #decode(from: Cursor): Rows {
    const n = this.#count - from.count;
    return this.#read(from, n, { n, t: new Float64Array(n), v: new Float64Array(n * NF).fill(NaN), limit: new Float64Array(n), instance: new Int32Array(n), w: new Float64Array(n) });
  }

  /** The delta state after the first `count` samples, read from the start (no rows kept). */
  #cursorAt(count: number): Cursor {
    const c = emptyCursor(this.#fields);
    this.#read(c, count, null);
    return c;
  }

  /** Reads n samples from `from` on into `rows` (null: only the delta state moves on). */
  #read<R extends Rows | null>(from: Cursor, n: number, rows: R): R {
    const r = new Reader(this.#bytes, from.offset, this.#length);
    const fields = this.#fields;
    const format = this.#format;
    const base = from.base;
    const limitSlot = base.length - 1;
    const h = newHead(from.mask, base[limitSlot]!, from.instance);
    let t = from.lastMs;
    for (let i = 0; i < n; i++) {
      readHead(r, h, format);
      t = from.count + i === 0 ? h.dt : t + h.dt;
      if (rows) {
        rows.w[i] = h.weight;
        rows.t[i] = t;
        rows.limit[i] = h.limit;
        rows.instance[i] = h.instance;
      }
      const at = i * NF;
      const changed = h.changed;
      // Absent fields stay NaN (their delta base stays for the next sample that has them); an
      // unchanged one keeps its base.
      let k = 0;
      for (let m = h.mask; m !== 0; m = (m & (m - 1)) >>> 0, k++) {
        const f = 31 - Math.clz32(m & -m);
        const slot = slotOf(fields, f);
        if ((changed >>> k) & 1) {
          const z = r.uint();
          const d = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
          const b = base[slot]!;
          base[slot] = b === b ? b + d : d;
        }
        if (rows) rows.v[at + f] = base[slot]!;
      }
    }
    base[limitSlot] = h.limit;
    from.mask = h.mask;
    from.instance = h.instance;
    from.lastMs = t;
    from.offset = r.pos;
    from.count += n;
    return rows;
  }

  /**
   * Buckets the open part (the last bucket and the samples after it) but its newest RAW_KEPT
   * samples; the older buckets stay as coded. Everything is coded again instead when the width
   * must grow or the window has moved REBUILD_AFTER_BUCKETS buckets past the oldest sample held.
   */
  #compact(): void {
    const width = this.#widthMs;
    const first = Math.max(this.#firstMs, this.#pruneBeforeMs);
    const openTo = this.#end.lastMs;
    const stale = this.#pruneBeforeMs - this.#firstMs > REBUILD_AFTER_BUCKETS * width;
    if (this.#openAt === 0 || stale || Math.floor(openTo / width) - Math.floor(first / width) + 1 > this.#maxBuckets) {
      this.#rebuild();
      return;
    }
    const from = this.#cursorAt(this.#openAt);
    const rows = this.#decode(copyCursor(from));
    const cut = rows.n - RAW_KEPT;
    const [kept, weights, lastBucketAt] = bucketed(rows, 0, cut, width);
    // Back to the open part's start, and coded again from there.
    this.#length = from.offset;
    this.#count = from.count;
    this.#end = from;
    for (let i = 0; i < rows.n; i++) this.#takenHeld -= rows.w[i]!;
    this.#takenPruned = -1;
    this.#reappend(rows, kept, weights, lastBucketAt);
    this.#raw = rows.n - cut;
  }

  /** Codes the samples held again in FORMAT, every one as it is (after decoding an older format). */
  #recode(): void {
    const rows = this.#decode(emptyCursor(this.#fields));
    const [fields, raw] = [this.#fields, this.#raw];
    const names = this.#instances.slice();
    // clear() keeps the width and the prune point.
    this.clear();
    this.#format = FORMAT;
    this.#instances.push(...names);
    this.#widen(fields);
    for (let i = 0; i < rows.n; i++) this.#append(rows.t[i]!, rows.v, i * NF, rows.limit[i]!, rows.instance[i]!, rows.w[i]!);
    this.#bytes = this.#bytes.slice(0, this.#length);
    this.#raw = raw;
    this.#takenPruned = -1;
  }

  /** Codes everything again: the window's samples bucketed at a width that keeps at most maxBuckets buckets. */
  #rebuild(): void {
    const rows = this.#decode(emptyCursor(this.#fields));
    let start = 0;
    while (start < rows.n && rows.t[start]! < this.#pruneBeforeMs) start++;
    const cut = Math.max(start, rows.n - RAW_KEPT);
    let width = this.#widthMs;
    if (cut > start) while (Math.floor(rows.t[cut - 1]! / width) - Math.floor(rows.t[start]! / width) + 1 > this.#maxBuckets) width *= 2;
    const [kept, weights, lastBucketAt] = bucketed(rows, start, cut, width);
    // The incarnations still referred to, renumbered in order.
    const renumber = new Map<number, number>();
    const names: string[] = [];
    for (const k of kept) {
      const inst = rows.instance[k]!;
      if (inst > 0 && !renumber.has(inst)) {
        names.push(this.#instances[inst - 1]!);
        renumber.set(inst, names.length);
      }
    }
    for (let k = 0; k < rows.n; k++) rows.instance[k] = rows.instance[k]! > 0 ? (renumber.get(rows.instance[k]!) ?? 0) : 0;
    const estimate = this.#count > 0 ? this.#length / this.#count : 16;
    const fields = this.#fields;
    // clear() keeps the prune point.
    this.clear();
    this.#widthMs = width;
    this.#instances.push(...names);
    this.#widen(fields);
    this.#bytes = new Uint8Array(Math.ceil(estimate * (kept.length + 4)) + MAX_SAMPLE_BYTES);
    this.#reappend(rows, kept, weights, lastBucketAt);
    // Held at its size, with room for the samples until the next compaction.
    const room = Math.ceil((this.#length / Math.max(1, this.#count)) * (COMPACT_AFTER - RAW_KEPT + 1));
    this.#bytes = this.#bytes.slice(0, this.#length + room);
    this.#raw = rows.n - cut;
    this.#takenPruned = -1;
  }

  /** Codes the kept rows after the current end; the open part starts at the last bucket's first kept row. */
  #reappend(rows: Rows, kept: readonly number[], weights: readonly number[], lastBucketAt: number): void {
    for (let i = 0; i < kept.length; i++) {
      if (i === lastBucketAt) this.#openAt = this.#count;
      const k = kept[i]!;
      this.#append(rows.t[k]!, rows.v, k * NF, rows.limit[k]!, rows.instance[k]!, weights[i]!);
    }
    if (lastBucketAt < 0 || lastBucketAt >= kept.length) this.#openAt = this.#count;
  }
}

const FORMAT = 2;
const EMPTY = new Uint8Array(0);
/** The newest samples are always kept as they came. */
const RAW_KEPT = 8;
/** ...and at most this many after the buckets before a compaction buckets the older ones. */
const COMPACT_AFTER = 24;
/** Samples the window has left are dropped from the bytes once they span this many buckets. */
const REBUILD_AFTER_BUCKETS = 4;
/** add()'s field units, one sample's bytes and its deltas, reused (add and #append are synchronous). */
const SCRATCH_UNITS = new Float64Array(NF);
const SCRATCH_BYTES = new Uint8Array(MAX_SAMPLE_BYTES);
const SCRATCH_DELTAS = new Float64Array(NF);
/** last()'s field units (last is synchronous, and #sampleOf copies them out). */
const SCRATCH_LAST = new Float64Array(NF);

const emptyCursor = (fields: number): Cursor => ({ offset: 0, count: 0, base: new Array<number>((fields === 0xffffffff ? NF : popcount(fields)) + 1).fill(NaN), mask: 0, instance: 0, lastMs: 0 });
const copyCursor = (c: Cursor): Cursor => ({ ...c, base: c.base.slice() });

function popcount(x: number): number {
  let n = 0;
  for (let m = x >>> 0; m !== 0; m = (m & (m - 1)) >>> 0) n++;
  return n;
}

/** A field's slot among `fields` (every field its own when all 32 are set). */
function slotOf(fields: number, f: number): number {
  return fields === 0xffffffff ? f : popcount(fields & (f === 0 ? 0 : 0xffffffff >>> (32 - f)));
}

/**
 * Rows [from, cut) bucketed at `width` (two per bucket: the lowest and the highest floor key, in
 * time order, the bucket's count of samples taken on the earlier), then rows [cut, n) as they
 * are. Returns the kept rows, their weights, and where the last bucket starts among them.
 */
function bucketed(rows: Rows, from: number, cut: number, width: number): [number[], number[], number] {
  const kept: number[] = [];
  const weights: number[] = [];
  let lastBucketAt = -1;
  let i = from;
  while (i < cut) {
    const bucket = Math.floor(rows.t[i]! / width);
    let lo = i;
    let hi = i;
    let loKey = floorKeyAt(rows.v, i * NF);
    let hiKey = loKey;
    let taken = rows.w[i]!;
    let j = i + 1;
    for (; j < cut && Math.floor(rows.t[j]! / width) === bucket; j++) {
      const k = floorKeyAt(rows.v, j * NF);
      taken += rows.w[j]!;
      if (k < loKey) [lo, loKey] = [j, k];
      if (k >= hiKey) [hi, hiKey] = [j, k];
    }
    lastBucketAt = kept.length;
    const a = Math.min(lo, hi);
    const b = Math.max(lo, hi);
    kept.push(a);
    weights.push(taken);
    if (b !== a) {
      kept.push(b);
      weights.push(0);
    }
    i = j;
  }
  for (let k = Math.max(from, cut); k < rows.n; k++) {
    kept.push(k);
    weights.push(rows.w[k]!);
  }
  return [kept, weights, lastBucketAt];
}

/** floorKeyBytes on coded units (fields 0 usage, 3 file, 5 active_file, 6 inactive_file). */
function floorKeyAt(v: Float64Array, at: number): number {
  const usage = v[at]!;
  const active = v[at + 5]!;
  const inactive = v[at + 6]!;
  if (active === active && inactive === inactive) return usage - active - inactive;
  const file = v[at + 3]!;
  if (file === file) return usage - file;
  return usage;
}

/** Writes a varint at p; returns the position after it. */
function putUint(b: Uint8Array, p: number, x: number): number {
  if (x < 128) {
    b[p] = x;
    return p + 1;
  }
  while (x >= 128) {
    b[p++] = (x % 128) | 128;
    x = Math.floor(x / 128);
  }
  b[p++] = x;
  return p;
}

const log2 = (x: number): number => Math.round(Math.log2(x));

/** LEB128 varints of non-negative integers up to 2^53 (signed ones zigzag-coded first). */
class Writer {
  #buf = new Uint8Array(64);
  length = 0;

  uint(x: number): void {
    if (this.length + 8 > this.#buf.length) {
      const grown = new Uint8Array(this.#buf.length * 2);
      grown.set(this.#buf);
      this.#buf = grown;
    }
    while (x >= 128) {
      this.#buf[this.length++] = (x % 128) | 128;
      x = Math.floor(x / 128);
    }
    this.#buf[this.length++] = x;
  }


  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.length);
  }
}

class Reader {
  readonly #buf: Uint8Array;
  readonly #end: number;
  pos: number;

  constructor(buf: Uint8Array, pos: number, end = buf.length) {
    this.#buf = buf;
    this.pos = pos;
    this.#end = end;
  }

  uint(): number {
    const b0 = this.#buf[this.pos];
    if (b0 !== undefined && b0 < 128 && this.pos < this.#end) {
      this.pos++;
      return b0;
    }
    let x = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.#end) throw new Error('compact samples: truncated varint');
      const b = this.#buf[this.pos++]!;
      x += (b & 127) * scale;
      if (b < 128) return x;
      scale *= 128;
    }
  }

  byte(): number {
    if (this.pos >= this.#end) throw new Error('compact samples: truncated');
    return this.#buf[this.pos++]!;
  }
}
