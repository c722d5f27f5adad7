import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { InputError } from '../errors.ts';
import type { HeapProfile } from '../model/sample.ts';
import { timestampProblem } from './clock.ts';
import { readCappedFile } from './files.ts';

/**
 * Go heap profiles (`/debug/pprof/heap`, `pprof.WriteHeapProfile`): gzipped or raw pprof protobuf
 * -> HeapProfile, reduced to in-use bytes per function.
 *
 * Flat attribution follows `go tool pprof`: a sample's bytes belong to the first line of its first
 * location (the innermost inlined frame). Cumulative: to every distinct function on the stack,
 * once per sample even when it recurses. The values are taken as written: Go scales sampled
 * allocations itself before writing the proto.
 *
 * pprof-format decodes varints larger than 2^53 as bigint. Sizes here become JS numbers, so every
 * value and every sum must stay a safe integer (<= 2^53 - 1): beyond that a number would be
 * silently rounded, and this source throws an InputError instead. time_nanos (~1.7e18) is divided
 * down to milliseconds in bigint arithmetic first.
 */

const EXPECTED = 'expected a Go heap profile from /debug/pprof/heap (gzipped pprof protobuf)';

/** Decompressed profiles larger than this are refused by default (a heap profile is rarely > 50 MiB). */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;
/** Profile files larger than this are refused before they are read (gzip shrinks them 3-10x). */
export const MAX_PROFILE_FILE_BYTES = 256 * 1024 * 1024;

export interface HeapProfileOptions {
  /** Name of the input for errors (file path or URL). */
  source: string;
  /** gunzip output limit in bytes; DEFAULT_MAX_DECOMPRESSED_BYTES when absent. */
  maxDecompressedBytes?: number;
  /** Time to use when the profile has no time_nanos (Go always writes one). */
  fallbackTimestampMs?: number;
  /** "Now", to refuse an implausible time_nanos (before 2000, or in the future); unchecked when absent. */
  nowMs?: number;
}

/** Decodes one heap profile (file contents or HTTP body). */
export function decodeHeapProfile(bytes: Uint8Array, options: HeapProfileOptions): HeapProfile {
  const { source } = options;
  if (bytes.length === 0) throw new InputError(source, `empty file: ${EXPECTED}`);
  const raw = isGzip(bytes) ? gunzip(bytes, options) : rejectText(bytes, source);

  let profile: Profile;
  try {
    profile = Profile.decode(raw);
  } catch (cause) {
    throw new InputError(source, `not a pprof protobuf (${(cause as Error).message}): ${EXPECTED}`, { cause });
  }
  return heapProfileFromPprof(profile, options);
}

/** Reduces a decoded pprof Profile to a HeapProfile. */
export function heapProfileFromPprof(profile: Profile, options: HeapProfileOptions): HeapProfile {
  const { source } = options;
  const strings = profile.stringTable.strings;
  const str = (i: number | bigint, what: string): string => {
    const s = strings[safe(i, what, source)];
    if (s === undefined) throw new InputError(source, `${what} points past the string table: ${EXPECTED}`);
    return s;
  };
  const typeNames = profile.sampleType.map((t, i) => str(t.type, `sample_type[${i}].type`));
  const inuse = typeNames.indexOf('inuse_space');
  if (inuse < 0) throw new InputError(source, `no inuse_space sample type (found: ${typeNames.join(', ') || 'none'}): ${EXPECTED}`);
  const alloc = typeNames.indexOf('alloc_space');

  const functionNames = new Map<number, string>();
  for (const f of profile.function) functionNames.set(safe(f.id, 'function.id', source), str(f.name, 'function.name'));
  /** Location id -> function names, innermost inlined frame first (pprof's Line order). */
  const locations = new Map<number, string[]>();
  for (const loc of profile.location) {
    const id = safe(loc.id, 'location.id', source);
    const names = loc.line.map((l) => functionNames.get(safe(l.functionId, 'line.function_id', source)) ?? `0x${BigInt(loc.address).toString(16)}`);
    locations.set(id, names.length ? names : [`0x${BigInt(loc.address).toString(16)}`]);
  }

  const flat = new Map<string, number>();
  const cum = new Map<string, number>();
  let totalInuse = 0;
  let totalAlloc = 0;
  const onStack = new Set<string>();
  profile.sample.forEach((s, si) => {
    const v = s.value[inuse];
    const bytes = v === undefined ? 0 : safe(int64(v), `sample[${si}] inuse_space`, source);
    if (bytes < 0) throw new InputError(source, `sample[${si}] inuse_space = ${bytes} is negative: a heap profile's in-use bytes cannot be (a diff of two profiles?); ${EXPECTED}`);
    if (alloc >= 0 && s.value[alloc] !== undefined) totalAlloc = add(totalAlloc, safe(s.value[alloc]!, `sample[${si}] alloc_space`, source), 'total alloc_space', source);
    if (bytes === 0) return;
    totalInuse = add(totalInuse, bytes, 'total inuse_space', source);
    onStack.clear();
    s.locationId.forEach((lid, li) => {
      const names = locations.get(safe(lid, `sample[${si}].location_id`, source));
      if (!names) throw new InputError(source, `sample ${si} refers to location ${lid}, which the profile does not define: ${EXPECTED}`);
      if (li === 0) flat.set(names[0]!, add(flat.get(names[0]!) ?? 0, bytes, `flat in-use bytes of ${names[0]}`, source));
      for (const n of names) onStack.add(n);
    });
    for (const n of onStack) cum.set(n, add(cum.get(n) ?? 0, bytes, `cumulative in-use bytes of ${n}`, source));
  });

  const timeNanos = BigInt(profile.timeNanos);
  let timestampMs: number;
  if (timeNanos > 0n) {
    timestampMs = safe(timeNanos / 1_000_000n, 'time_nanos / 1e6', source);
    const late = options.nowMs !== undefined ? timestampProblem(timestampMs, options.nowMs) : null;
    if (late) throw new InputError(source, `time_nanos ${timeNanos}: ${late}`);
  }
  else if (options.fallbackTimestampMs !== undefined) timestampMs = options.fallbackTimestampMs;
  else throw new InputError(source, 'the profile has no time_nanos and no fallback time was given');

  const out: HeapProfile = { timestampMs, totalInuseBytes: totalInuse, flatInuseBytes: flat, cumInuseBytes: cum };
  if (alloc >= 0) out.totalAllocBytes = totalAlloc;
  return out;
}

/** A sample value is an int64 that pprof-format may hand back as its unsigned 64-bit pattern. */
const int64 = (v: number | bigint): number | bigint => (typeof v === 'bigint' && v >= 2n ** 63n ? v - 2n ** 64n : v);

/** A pprof varint as an exact JS number, or an InputError: never a rounded value. */
function safe(v: number | bigint, what: string, source: string): number {
  if (typeof v === 'bigint') {
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new InputError(source, `${what} = ${v} is beyond 2^53 - 1 (Number.MAX_SAFE_INTEGER) and cannot be represented exactly; refusing the profile rather than rounding`);
    }
    return Number(v);
  }
  if (!Number.isSafeInteger(v)) throw new InputError(source, `${what} = ${v} is not a safe integer (beyond 2^53 - 1); refusing the profile rather than rounding`);
  return v;
}

function add(a: number, b: number, what: string, source: string): number {
  const r = a + b;
  if (!Number.isSafeInteger(r)) throw new InputError(source, `${what} exceeds 2^53 - 1 bytes and cannot be summed exactly; refusing the profile rather than rounding`);
  return r;
}

const isGzip = (b: Uint8Array): boolean => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

function gunzip(bytes: Uint8Array, options: HeapProfileOptions): Uint8Array {
  const limit = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  try {
    return gunzipSync(bytes, { maxOutputLength: limit });
  } catch (cause) {
    const e = cause as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw new InputError(options.source, `the decompressed profile is larger than the ${limit}-byte limit (maxDecompressedBytes); raise the limit if this heap profile is really that large`, { cause });
    }
    throw new InputError(options.source, `truncated or corrupt gzip (${e.message}): ${EXPECTED}`, { cause });
  }
}

/** Raw bytes that are text are not a protobuf: say what they look like instead of decoding noise. */
function rejectText(bytes: Uint8Array, source: string): Uint8Array {
  const head = bytes.subarray(0, 512);
  const isText = head.every((c) => c === 0x09 || c === 0x0a || c === 0x0d || (c >= 0x20 && c !== 0x7f));
  if (!isText) return bytes;
  const start = Buffer.from(head).toString('utf8').trimStart();
  if (start.startsWith('heap profile:')) throw new InputError(source, `this is the text form of a heap profile (/debug/pprof/heap?debug=1); ${EXPECTED}: fetch it without ?debug`);
  if (start.startsWith('<')) throw new InputError(source, `this is HTML or XML, not a profile (a login or error page?); ${EXPECTED}`);
  throw new InputError(source, `this is a text file (${JSON.stringify(start.slice(0, 40))}); ${EXPECTED}`);
}

/**
 * Reads a heap profile file (as saved by `curl -o heap.pb.gz http://HOST/debug/pprof/heap`): a
 * regular file of at most MAX_PROFILE_FILE_BYTES (a FIFO or /dev/zero is refused, not read).
 */
export async function readHeapProfileFile(path: string, options: Omit<HeapProfileOptions, 'source'> = {}): Promise<HeapProfile> {
  return decodeHeapProfile(await readCappedFile(path, MAX_PROFILE_FILE_BYTES, 'a heap profile'), { ...options, source: path });
}
