import { gunzipSync } from 'node:zlib';
import { InputError } from '../errors.ts';
import type { HeapProfile } from '../model/sample.ts';
import { readCappedFile } from './files.ts';
import { EXPECTED_HEAP_PROFILE as EXPECTED, reduceHeapProfile } from './pprof-heap.ts';

/**
 * Go heap profiles (`/debug/pprof/heap`, `pprof.WriteHeapProfile`): gzipped or raw pprof protobuf
 * -> HeapProfile, reduced to in-use bytes per function (pprof-heap.ts walks the protobuf).
 *
 * Sizes become JS numbers, so every value and every sum must stay a safe integer (<= 2^53 - 1):
 * beyond that a number would be silently rounded, and this source throws an InputError instead.
 * time_nanos (~1.7e18) is divided down to milliseconds in bigint arithmetic first.
 */

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
  return reduceHeapProfile(raw, options);
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
