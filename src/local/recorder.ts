import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { UsageError } from '../errors.ts';
import { snapshotToJson } from '../sources/cgroup.ts';
import type { CgroupSnapshot } from '../sources/cgroup.ts';

/**
 * `--record FILE`: every cgroup snapshot as one JSON line (docs/formats.md), the format
 * `memaudit analyze --cgroup FILE` reads. Lines are appended in order; a write never delays
 * sampling (writes are chained, awaited on close).
 */
export class SnapshotRecorder {
  readonly file: string;
  readonly #handle: FileHandle;
  #chain: Promise<void> = Promise.resolve();
  #error: unknown;

  private constructor(file: string, handle: FileHandle) {
    this.file = file;
    this.#handle = handle;
  }

  static async open(file: string): Promise<SnapshotRecorder> {
    try {
      return new SnapshotRecorder(file, await open(file, 'w'));
    } catch (cause) {
      throw new UsageError(`--record: cannot write ${file}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
  }

  write(snapshot: CgroupSnapshot): void {
    const line = JSON.stringify(snapshotToJson(snapshot)) + '\n';
    this.#chain = this.#chain.then(async () => {
      if (this.#error !== undefined) return;
      try {
        await this.#handle.write(line);
      } catch (e) {
        this.#error = e;
      }
    });
  }

  /** Flushes and closes; throws UsageError when a write failed (disk full, ...). */
  async close(): Promise<void> {
    await this.#chain;
    await this.#handle.close();
    if (this.#error !== undefined) throw new UsageError(`--record: writing ${this.file} failed: ${this.#error instanceof Error ? this.#error.message : String(this.#error)}`);
  }
}
