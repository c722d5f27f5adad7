// The reference heap-profile decoder: memaudit's reduction of a pprof Profile as it was before
// src/sources/pprof-heap.ts (pprof-format decodes the whole Profile into objects, then this
// reduces it), kept verbatim for the equivalence test, which checks that the one-walk decoder
// gives the same HeapProfile on every profile in test/fixtures and on generated large ones.
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { InputError } from '../../src/errors.ts';
import type { HeapProfile } from '../../src/model/sample.ts';
import { timestampProblem } from '../../src/sources/clock.ts';

const EXPECTED = 'expected a Go heap profile from /debug/pprof/heap (gzipped pprof protobuf)';

interface HeapProfileOptions {
  source: string;
  fallbackTimestampMs?: number;
  nowMs?: number;
}

/** A gzipped (or raw) profile through pprof-format and the reduction below. */
export function referenceDecode(bytes: Uint8Array, options: HeapProfileOptions): HeapProfile {
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  return heapProfileFromPprof(Profile.decode(raw), options);
}

/** Reduces a decoded pprof Profile to a HeapProfile. */
function heapProfileFromPprof(profile: Profile, options: HeapProfileOptions): HeapProfile {
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

