// A pprof Profile (profile.proto, uncompressed) reduced to a HeapProfile in one walk of its wire
// format, keeping only what a heap diff needs.
//
// Why not a protobuf library: pprof-format (and any generated decoder) builds an object for every
// sample, value, location, line, function and string before anything is reduced; a heap profile
// of a large service is tens of MB of samples, and the diff reads two of their columns. Here the
// profile is walked once: sample_type, location (id, address, the function ids of its lines),
// function (id, name index) and time_nanos are decoded where they are met; a Sample is only
// framed (its byte range noted) and a string only located. Go writes the string table last, so
// which value column is inuse_space is known only at the end: then the noted samples are read
// from the buffer, each once, straight into per-function sums, and only the strings those samples
// reach (sample type and function names) are decoded. The gunzipped buffer is held anyway (the
// samples are most of it); a streaming gunzip would only move that buffer into chunks.
//
// Attribution follows `go tool pprof`: a sample's bytes are flat for the first line of its first
// location (the innermost inlined frame) and cumulative for every distinct function on its stack,
// once per sample even when it recurses. Values are taken as written: Go scales sampled
// allocations itself before writing the proto.
//
// Every size stays an exact integer: a value or a sum beyond 2^53 - 1 is refused, never rounded.
import { InputError } from '../errors.ts';
import type { HeapProfile } from '../model/sample.ts';
import { timestampProblem } from './clock.ts';
import { WIRE_LEN, WIRE_VARINT, WireFormatError, WireReader } from './protobuf.ts';

export const EXPECTED_HEAP_PROFILE = 'expected a Go heap profile from /debug/pprof/heap (gzipped pprof protobuf)';

export interface ReduceOptions {
  /** Name of the input for errors (file path or URL). */
  source: string;
  /** Time to use when the profile has no time_nanos. */
  fallbackTimestampMs?: number;
  /** "Now", to refuse an implausible time_nanos; unchecked when absent. */
  nowMs?: number;
}

// profile.proto field numbers.
const PROFILE_SAMPLE_TYPE = 1;
const PROFILE_SAMPLE = 2;
const PROFILE_LOCATION = 4;
const PROFILE_FUNCTION = 5;
const PROFILE_STRING_TABLE = 6;
const PROFILE_TIME_NANOS = 9;
const VALUE_TYPE_TYPE = 1;
const SAMPLE_LOCATION_ID = 1;
const SAMPLE_VALUE = 2;
const LOCATION_ID = 1;
const LOCATION_ADDRESS = 3;
const LOCATION_LINE = 4;
const LINE_FUNCTION_ID = 1;
const FUNCTION_ID = 1;
const FUNCTION_NAME = 2;

const MAX = Number.MAX_SAFE_INTEGER;

/** Decodes a raw (uncompressed) pprof protobuf into a HeapProfile. */
export function reduceHeapProfile(raw: Uint8Array, options: ReduceOptions): HeapProfile {
  const { source } = options;
  try {
    return reduce(raw, options);
  } catch (cause) {
    if (cause instanceof WireFormatError) throw new InputError(source, `not a pprof protobuf (${cause.message}): ${EXPECTED_HEAP_PROFILE}`, { cause });
    throw cause;
  }
}

/** What the walk keeps of a Profile: decoded where cheap, located (byte ranges) where not yet needed. */
interface Walked {
  /** String-table index of each sample_type's type. */
  sampleTypes: number[];
  samples: Ranges;
  strings: Ranges;
  locations: Locations;
  functionIndex: IdIndex;
  /** String-table index of each function's name, by the function's index. */
  functionNameIndex: number[];
  timeNanos: bigint | null;
}

function reduce(raw: Uint8Array, options: ReduceOptions): HeapProfile {
  const { source } = options;
  const r = new WireReader(raw);
  /** Refuses a varint that was not a safe integer (the reader returned NaN). */
  const exact = (v: number, what: string): number => {
    if (v !== v) throw new InputError(source, `${what} = ${r.big} is beyond 2^53 - 1 (Number.MAX_SAFE_INTEGER) and cannot be represented exactly; refusing the profile rather than rounding`);
    return v;
  };
  const walked = walk(r, exact);
  const { strings, sampleTypes } = walked;

  // Only the strings the result reaches are decoded, each once.
  const decoder = new TextDecoder();
  const decoded = new Map<number, string>();
  const str = (i: number, what: string): string => {
    let s = decoded.get(i);
    if (s === undefined) {
      if (!(i >= 0 && i < strings.length)) throw new InputError(source, `${what} points past the string table: ${EXPECTED_HEAP_PROFILE}`);
      s = decoder.decode(raw.subarray(strings.start(i), strings.end(i)));
      decoded.set(i, s);
    }
    return s;
  };

  const typeNames = sampleTypes.map((t, i) => str(t, `sample_type[${i}].type`));
  const inuse = typeNames.indexOf('inuse_space');
  if (inuse < 0) throw new InputError(source, `no inuse_space sample type (found: ${typeNames.join(', ') || 'none'}): ${EXPECTED_HEAP_PROFILE}`);
  const alloc = typeNames.indexOf('alloc_space');
  const sums = sumSamples(r, walked, { inuse, alloc }, str, source);
  const out: HeapProfile = { timestampMs: timestampOf(walked.timeNanos, options), totalInuseBytes: sums.totalInuse, flatInuseBytes: sums.slots.flatMap(), cumInuseBytes: sums.slots.cumMap() };
  if (alloc >= 0) out.totalAllocBytes = sums.totalAlloc;
  return out;
}

/** The one walk over the Profile's top-level fields. */
function walk(r: WireReader, exact: (v: number, what: string) => number): Walked {
  const wire = (field: number, wireType: number, expected: number, what: string) => {
    if (wireType !== expected) throw new WireFormatError(`${what} (field ${field}) at byte ${r.pos} has wire type ${wireType}, not ${expected}`);
  };
  const sampleTypes: number[] = [];
  const samples = new Ranges();
  const strings = new Ranges();
  const locations = new Locations();
  const functionIndex = new IdIndex();
  const functionNameIndex: number[] = [];
  let timeNanos: bigint | null = null;
  while (r.pos < r.buf.length) {
    const tag = r.tag();
    const field = tag >>> 3;
    const wt = tag & 7;
    switch (field) {
      case PROFILE_SAMPLE: {
        wire(field, wt, WIRE_LEN, 'sample');
        const end = r.fieldEnd();
        samples.push(r.pos, end);
        r.pos = end;
        break;
      }
      case PROFILE_LOCATION: {
        wire(field, wt, WIRE_LEN, 'location');
        const end = r.fieldEnd();
        readLocation(r, end, locations, exact);
        break;
      }
      case PROFILE_FUNCTION: {
        wire(field, wt, WIRE_LEN, 'function');
        const end = r.fieldEnd();
        let id = 0;
        let name = 0;
        while (r.pos < end) {
          const t = r.tag();
          if (t === ((FUNCTION_ID << 3) | WIRE_VARINT)) id = exact(r.uint64(), 'function.id');
          else if (t === ((FUNCTION_NAME << 3) | WIRE_VARINT)) name = exact(r.int64(), 'function.name');
          else r.skip(t & 7);
        }
        r.expectEnd(end, 'a function');
        functionIndex.set(id, functionNameIndex.push(name) - 1);
        break;
      }
      case PROFILE_STRING_TABLE: {
        wire(field, wt, WIRE_LEN, 'string_table');
        const end = r.fieldEnd();
        strings.push(r.pos, end);
        r.pos = end;
        break;
      }
      case PROFILE_SAMPLE_TYPE: {
        wire(field, wt, WIRE_LEN, 'sample_type');
        const end = r.fieldEnd();
        let type = 0;
        while (r.pos < end) {
          const t = r.tag();
          if (t === ((VALUE_TYPE_TYPE << 3) | WIRE_VARINT)) type = exact(r.int64(), `sample_type[${sampleTypes.length}].type`);
          else r.skip(t & 7);
        }
        r.expectEnd(end, 'a sample_type');
        sampleTypes.push(type);
        break;
      }
      case PROFILE_TIME_NANOS: {
        wire(field, wt, WIRE_VARINT, 'time_nanos');
        const v = r.int64();
        timeNanos = v === v ? BigInt(v) : r.big;
        break;
      }
      default:
        r.skip(wt);
    }
  }
  return { sampleTypes, samples, strings, locations, functionIndex, functionNameIndex, timeNanos };
}

/**
 * Reads each noted sample once and adds its in-use bytes to its functions, in sample order (the
 * Maps keep the order names were first met). Samples holding no in-use bytes are not followed.
 */
function sumSamples(r: WireReader, { samples, locations, functionIndex, functionNameIndex }: Walked, columns: { inuse: number; alloc: number }, str: (i: number, what: string) => string, source: string) {
  const { inuse, alloc } = columns;
  // Sums are kept per distinct function name (two function ids may share one).
  const slots = new NameSlots();
  const functionNames: (string | undefined)[] = [];
  const functionName = (fi: number): string => (functionNames[fi] ??= str(functionNameIndex[fi]!, 'function.name'));
  /** The name slots of a location's lines, innermost inlined frame first; resolved on first use. */
  const locationSlots = (li: number): void => {
    if (locations.slotStart[li] !== -1) return;
    const first = locations.lineStart.at(li);
    const end = locations.lineEnd.at(li);
    const start = locations.slots.length;
    if (first === end) locations.slots.push(slots.of(locations.addressName(li)));
    for (let k = first; k < end; k++) {
      const fi = functionIndex.get(locations.lineFunctionIds.at(k));
      locations.slots.push(slots.of(fi >= 0 ? functionName(fi) : locations.addressName(li)));
    }
    locations.slotStart[li] = start;
    locations.slotEnd[li] = locations.slots.length;
  };
  locations.finish();

  let totalInuse = 0;
  let totalAlloc = 0;
  let ids = new Float64Array(64);
  for (let si = 0; si < samples.length; si++) {
    const end = samples.end(si);
    r.pos = samples.start(si);
    let n = 0;
    let col = 0;
    let inuseValue = 0;
    let inuseBig = 0n;
    let allocValue: number | undefined;
    let allocBig = 0n;
    let idBig: Map<number, bigint> | undefined;
    while (r.pos < end) {
      const t = r.tag();
      const field = t >>> 3;
      const wt = t & 7;
      if (field === SAMPLE_LOCATION_ID && (wt === WIRE_LEN || wt === WIRE_VARINT)) {
        // Packed (a length, then varints) or one varint per field: Go packs lists longer than two.
        const packed = wt === WIRE_LEN;
        const fieldEnd = packed ? r.fieldEnd() : r.pos + 1;
        while (r.pos < fieldEnd) {
          if (n === ids.length) ids = grow(ids);
          const id = r.uint64();
          if (id !== id) (idBig ??= new Map()).set(n, r.big);
          ids[n++] = id;
        }
        if (packed) r.expectEnd(fieldEnd, 'a packed location_id');
      } else if (field === SAMPLE_VALUE && (wt === WIRE_LEN || wt === WIRE_VARINT)) {
        const packed = wt === WIRE_LEN;
        const fieldEnd = packed ? r.fieldEnd() : r.pos + 1;
        while (r.pos < fieldEnd) {
          if (col === inuse) {
            inuseValue = r.int64();
            inuseBig = r.big;
          } else if (col === alloc) {
            allocValue = r.int64();
            allocBig = r.big;
          } else r.skipVarint();
          col++;
        }
        if (packed) r.expectEnd(fieldEnd, 'a packed value');
      } else r.skip(wt);
    }
    r.expectEnd(end, 'a sample');

    // A missing column is 0, as in the proto's default.
    if (col > inuse && inuseValue !== inuseValue) throw unsafe(source, `sample[${si}] inuse_space`, inuseBig);
    const bytes = col > inuse ? inuseValue : 0;
    if (bytes < 0) throw new InputError(source, `sample[${si}] inuse_space = ${bytes} is negative: a heap profile's in-use bytes cannot be (a diff of two profiles?); ${EXPECTED_HEAP_PROFILE}`);
    if (allocValue !== undefined) {
      if (allocValue !== allocValue) throw unsafe(source, `sample[${si}] alloc_space`, allocBig);
      if (allocValue < 0) throw new InputError(source, `sample[${si}] alloc_space = ${allocValue} is negative: a heap profile's allocated bytes cannot be; ${EXPECTED_HEAP_PROFILE}`);
      totalAlloc += allocValue;
      if (totalAlloc > MAX) throw tooLarge(source, 'total alloc_space');
    }
    if (bytes === 0) continue;
    totalInuse += bytes;
    if (totalInuse > MAX) throw tooLarge(source, 'total inuse_space');

    const stamp = si + 1;
    for (let k = 0; k < n; k++) {
      const id = ids[k]!;
      if (id !== id) throw unsafe(source, `sample[${si}].location_id`, idBig!.get(k)!);
      const li = locations.index.get(id);
      if (li < 0) throw new InputError(source, `sample ${si} refers to location ${id}, which the profile does not define: ${EXPECTED_HEAP_PROFILE}`);
      locationSlots(li);
      const from = locations.slotStart[li]!;
      const to = locations.slotEnd[li]!;
      if (k === 0 && slots.addFlat(locations.slots.at(from), bytes)) throw tooLarge(source, `flat in-use bytes of ${slots.names[locations.slots.at(from)]}`);
      for (let j = from; j < to; j++) {
        const s = locations.slots.at(j);
        if (slots.addCum(s, bytes, stamp)) throw tooLarge(source, `cumulative in-use bytes of ${slots.names[s]}`);
      }
    }
  }

  return { totalInuse, totalAlloc, slots };
}

/** time_nanos in milliseconds, divided in bigint arithmetic (1.7e18 is beyond 2^53), and checked. */
function timestampOf(timeNanos: bigint | null, options: ReduceOptions): number {
  const { source } = options;
  if (timeNanos !== null && timeNanos < 0n) throw new InputError(source, `time_nanos ${timeNanos} is negative: not a time; ${EXPECTED_HEAP_PROFILE}`);
  if (timeNanos !== null && timeNanos > 0n) {
    const ms = timeNanos / 1_000_000n;
    if (ms > BigInt(MAX)) throw unsafe(source, 'time_nanos / 1e6', ms);
    const late = options.nowMs !== undefined ? timestampProblem(Number(ms), options.nowMs) : null;
    if (late) throw new InputError(source, `time_nanos ${timeNanos}: ${late}`);
    return Number(ms);
  }
  if (options.fallbackTimestampMs !== undefined) return options.fallbackTimestampMs;
  throw new InputError(source, 'the profile has no time_nanos and no fallback time was given');
}

function readLocation(r: WireReader, end: number, locations: Locations, exact: (v: number, what: string) => number): void {
  let id = 0;
  let address = 0;
  let addressBig = 0n;
  const firstLine = locations.lineFunctionIds.length;
  while (r.pos < end) {
    const t = r.tag();
    if (t === ((LOCATION_ID << 3) | WIRE_VARINT)) id = exact(r.uint64(), 'location.id');
    else if (t === ((LOCATION_ADDRESS << 3) | WIRE_VARINT)) {
      address = r.uint64();
      addressBig = r.big;
    } else if (t === ((LOCATION_LINE << 3) | WIRE_LEN)) {
      const lineEnd = r.fieldEnd();
      let functionId = 0;
      while (r.pos < lineEnd) {
        const lt = r.tag();
        if (lt === ((LINE_FUNCTION_ID << 3) | WIRE_VARINT)) functionId = exact(r.uint64(), 'line.function_id');
        else r.skip(lt & 7);
      }
      r.expectEnd(lineEnd, 'a line');
      locations.lineFunctionIds.push(functionId);
    } else r.skip(t & 7);
  }
  r.expectEnd(end, 'a location');
  locations.add(id, address === address ? address : addressBig, firstLine);
}

const unsafe = (source: string, what: string, v: bigint) => new InputError(source, `${what} = ${v} is beyond 2^53 - 1 (Number.MAX_SAFE_INTEGER) and cannot be represented exactly; refusing the profile rather than rounding`);
const tooLarge = (source: string, what: string) => new InputError(source, `${what} exceeds 2^53 - 1 bytes and cannot be summed exactly; refusing the profile rather than rounding`);

function grow<T extends Float64Array | Int32Array>(a: T): T {
  const b = new (a.constructor as new (n: number) => T)(a.length * 2);
  b.set(a);
  return b;
}

/** A growable column of numbers. */
class Column<T extends Float64Array | Int32Array> {
  #a: T;
  length = 0;
  constructor(a: T) {
    this.#a = a;
  }
  push(v: number): void {
    if (this.length === this.#a.length) this.#a = grow(this.#a);
    this.#a[this.length++] = v;
  }
  at(i: number): number {
    return this.#a[i]!;
  }
}

/** Byte ranges [start, end) of repeated fields, as two columns. */
class Ranges {
  readonly #starts = new Column(new Float64Array(1024));
  readonly #ends = new Column(new Float64Array(1024));
  push(start: number, end: number): void {
    this.#starts.push(start);
    this.#ends.push(end);
  }
  get length(): number {
    return this.#starts.length;
  }
  start(i: number): number {
    return this.#starts.at(i);
  }
  end(i: number): number {
    return this.#ends.at(i);
  }
}

/**
 * pprof ids (uint64) -> dense indices. Go numbers locations and functions 1, 2, 3, ...: those live
 * in an array; an id far beyond the count goes to a Map. A later definition of an id replaces an
 * earlier one, as in a protobuf map.
 */
class IdIndex {
  static readonly DENSE_LIMIT = 1 << 22;
  #dense = new Int32Array(1024);
  #sparse: Map<number, number> | undefined;
  set(id: number, index: number): void {
    if (id < IdIndex.DENSE_LIMIT) {
      while (id >= this.#dense.length) this.#dense = grow(this.#dense);
      this.#dense[id] = index + 1;
    } else (this.#sparse ??= new Map()).set(id, index);
  }
  /** The index of an id, or -1. */
  get(id: number): number {
    if (id < this.#dense.length) return this.#dense[id]! - 1;
    return this.#sparse?.get(id) ?? -1;
  }
}

/** Locations as columns: their lines' function ids, their addresses, and the name slots of their lines once resolved. */
class Locations {
  readonly index = new IdIndex();
  readonly lineFunctionIds = new Column(new Float64Array(4096));
  readonly lineStart = new Column(new Int32Array(1024));
  readonly lineEnd = new Column(new Int32Array(1024));
  readonly slots = new Column(new Int32Array(4096));
  slotStart = new Int32Array(0);
  slotEnd = new Int32Array(0);
  readonly #addresses: (number | bigint)[] = [];

  add(id: number, address: number | bigint, firstLine: number): void {
    this.index.set(id, this.#addresses.push(address) - 1);
    this.lineStart.push(firstLine);
    this.lineEnd.push(this.lineFunctionIds.length);
  }

  /** All locations are read: make room for their slots, none resolved yet (-1). */
  finish(): void {
    this.slotStart = new Int32Array(this.#addresses.length).fill(-1);
    this.slotEnd = new Int32Array(this.#addresses.length);
  }

  /** A location without a known function is named by its address, as `go tool pprof` does. */
  addressName(li: number): string {
    return `0x${this.#addresses[li]!.toString(16)}`;
  }
}

/** Per-function sums, one slot per distinct name, and the order names were first met (the Maps' order). */
class NameSlots {
  readonly names: string[] = [];
  readonly #byName = new Map<string, number>();
  #flat = new Float64Array(1024);
  #cum = new Float64Array(1024);
  #stamp = new Int32Array(1024);
  readonly #flatOrder: number[] = [];
  readonly #cumOrder: number[] = [];

  of(name: string): number {
    let s = this.#byName.get(name);
    if (s === undefined) {
      s = this.names.push(name) - 1;
      this.#byName.set(name, s);
      if (s === this.#flat.length) {
        this.#flat = grow(this.#flat);
        this.#cum = grow(this.#cum);
        this.#stamp = grow(this.#stamp);
      }
      // -1: not yet in the flat Map (0 bytes is a valid sum once a sample put it there).
      this.#flat[s] = -1;
    }
    return s;
  }

  /** Adds flat bytes; true when the sum left the exact range. */
  addFlat(s: number, bytes: number): boolean {
    const before = this.#flat[s]!;
    if (before < 0) {
      this.#flatOrder.push(s);
      this.#flat[s] = bytes;
      return false;
    }
    return (this.#flat[s] = before + bytes) > MAX;
  }

  /** Adds cumulative bytes once per sample (stamp): true when the sum left the exact range. */
  addCum(s: number, bytes: number, stamp: number): boolean {
    const seen = this.#stamp[s]!;
    if (seen === stamp) return false;
    if (seen === 0) this.#cumOrder.push(s);
    this.#stamp[s] = stamp;
    return (this.#cum[s] = this.#cum[s]! + bytes) > MAX;
  }

  flatMap(): Map<string, number> {
    return new Map(this.#flatOrder.map((s) => [this.names[s]!, this.#flat[s]!]));
  }

  cumMap(): Map<string, number> {
    return new Map(this.#cumOrder.map((s) => [this.names[s]!, this.#cum[s]!]));
  }
}
