import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { UsageError } from '../errors.ts';

/**
 * `memaudit docker --record FILE`: the stats stream exactly as the daemon sent it, one JSON object
 * per line, which `memaudit analyze --docker-stats FILE` reads back. Writes are chained so they
 * never delay sampling; close() waits for them and reports a failed write.
 */
export class StatsLineRecorder {
  readonly file: string;
  readonly #handle: FileHandle;
  #chain: Promise<void> = Promise.resolve();
  #error: unknown;
  lines = 0;

  private constructor(file: string, handle: FileHandle) {
    this.file = file;
    this.#handle = handle;
  }

  static async open(file: string): Promise<StatsLineRecorder> {
    try {
      return new StatsLineRecorder(file, await open(file, 'w'));
    } catch (cause) {
      throw new UsageError(`--record: cannot write ${file}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
  }

  /** One raw line of the stream (without its newline). */
  write(line: string): void {
    this.lines++;
    const text = line + '\n';
    this.#chain = this.#chain.then(async () => {
      if (this.#error !== undefined) return;
      try {
        await this.#handle.write(text);
      } catch (e) {
        this.#error = e;
      }
    });
  }

  async close(): Promise<void> {
    await this.#chain;
    await this.#handle.close();
    if (this.#error !== undefined) throw new UsageError(`--record: writing ${this.file} failed: ${this.#error instanceof Error ? this.#error.message : String(this.#error)}`);
  }
}

/**
 * The file for replica `number` of `count`: "web.jsonl" stays as is for one container, and
 * becomes "web.2.jsonl" for the second of several (a recording holds one container's stream).
 */
export function recordFileFor(file: string, number: number, count: number): string {
  if (count <= 1) return file;
  const slash = file.lastIndexOf('/');
  const dot = file.lastIndexOf('.');
  return dot > slash + 1 ? `${file.slice(0, dot)}.${number}${file.slice(dot)}` : `${file}.${number}`;
}
