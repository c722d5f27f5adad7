// Reading input files in bounded memory. Recordings (cgroup snapshots, Docker stats) are read as a
// stream of lines, each parsed and handed on before the next is read, so memory does not grow with
// the file; documents that must be parsed whole (a Prometheus response, a heap profile, a one-shot
// stats object) are read with a size cap. Only regular files are read: a FIFO, a terminal, a
// socket or /dev/zero has no end to wait for (`--pprof /dev/zero` used to grow without bound), and
// a directory is a mistake. The file is opened O_NONBLOCK so that opening a FIFO with no writer
// returns at once instead of hanging, and the check is made on the opened descriptor.
import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream';
import split2 from 'split2';
import { InputError } from '../errors.ts';

/** The longest line a recording may have. A Docker stats object is ~2-5 KiB; a cgroup snapshot less. */
export const MAX_LINE_CHARS = 16 * 2 ** 20;

/** Opens a regular file for reading, or throws an InputError saying what the path is instead. */
async function openRegularFile(path: string, what: string): Promise<{ handle: FileHandle; sizeBytes: number }> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (cause) {
    throw new InputError(path, `cannot read: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
  }
  const stat = await handle.stat();
  if (!stat.isFile()) {
    await handle.close();
    const kind = stat.isDirectory() ? 'a directory' : stat.isFIFO() ? 'a FIFO (named pipe)' : stat.isCharacterDevice() ? 'a character device' : stat.isSocket() ? 'a socket' : stat.isBlockDevice() ? 'a block device' : 'not a regular file';
    throw new InputError(path, `is ${kind}; ${what} must be a regular file (save the data to a file first)`);
  }
  return { handle, sizeBytes: stat.size };
}

/** A whole file, refused when larger than `maxBytes` (documents that are parsed in one piece). */
export async function readCappedFile(path: string, maxBytes: number, what: string): Promise<Buffer> {
  const { handle, sizeBytes } = await openRegularFile(path, what);
  try {
    if (sizeBytes > maxBytes) throw new InputError(path, `${what} of ${sizeBytes} bytes is larger than the ${maxBytes}-byte limit (${Math.round(maxBytes / 2 ** 20)} MiB) for ${what}s, which are read whole`);
    // Read at most maxBytes + 1 even if the file grew after the check.
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(maxBytes + 1 - length, Math.max(sizeBytes - length, 0) + 65536));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      length += bytesRead;
      if (length > maxBytes) throw new InputError(path, `${what} grew past the ${maxBytes}-byte limit while it was read`);
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
  } finally {
    await handle.close();
  }
}

/**
 * Calls `onLine` with every line of a file (1-based line numbers, blank lines included, without
 * the line end), reading it as a stream: memory stays bounded whatever the file's size. A line
 * longer than MAX_LINE_CHARS is an InputError naming it. Errors thrown by `onLine` end the read.
 */
export async function forEachLineOfFile(path: string, what: string, onLine: (line: number, text: string) => void, maxLineChars = MAX_LINE_CHARS): Promise<void> {
  const { handle } = await openRegularFile(path, what);
  // split2 (the line splitter pino's transports use) bounds the unfinished line at maxLength.
  const lines = split2(/\r?\n/, { maxLength: maxLineChars });
  let line = 0;
  pipeline(handle.createReadStream(), lines, () => undefined);
  const it = (lines as AsyncIterable<string>)[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<string>;
      try {
        next = await it.next();
      } catch (e) {
        if (e instanceof Error && e.message === 'maximum buffer reached') {
          throw new InputError(path, `line longer than ${maxLineChars} characters: not a recording of one JSON object per line`, { line: line + 1, cause: e });
        }
        throw new InputError(path, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
      }
      if (next.done) break;
      onLine(++line, next.value);
    }
  } finally {
    lines.destroy();
    await handle.close().catch(() => undefined);
  }
}

/** The same for text already in memory (tests, small inputs). */
export function forEachLineOfText(text: string, onLine: (line: number, text: string) => void): void {
  const lines = text.split(/\r?\n/);
  // A final newline ends the last line; it does not start an empty one (as when streaming).
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((l, i) => onLine(i + 1, l));
}
