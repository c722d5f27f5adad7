// `--record FILE`: one line per sample, appended in order. Writes are chained so they never delay
// sampling; close() waits for them and reports a failed write (disk full, ...). `memaudit
// run/watch` record cgroup snapshots (read back by `analyze --cgroup`), `memaudit docker` the raw
// stats stream (read back by `analyze --docker-stats`).
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { EnvironmentError } from '../errors.ts';
import type { MemorySample } from '../model/sample.ts';
import { snapshotToJson } from '../sources/cgroup.ts';
import type { CgroupSnapshot } from '../sources/cgroup.ts';

export class LineRecorder {
  readonly file: string;
  readonly #handle: FileHandle;
  #chain: Promise<void> = Promise.resolve();
  #error: unknown;
  lines = 0;

  private constructor(file: string, handle: FileHandle) {
    this.file = file;
    this.#handle = handle;
  }

  static async open(file: string): Promise<LineRecorder> {
    try {
      return new LineRecorder(file, await open(file, 'w'));
    } catch (cause) {
      throw new EnvironmentError(`cannot write the recording ${file}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
  }

  /** One line, without its newline. */
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

  /** A cgroup snapshot with the Go runtime data sampled beside it, in the format `analyze --cgroup` reads. */
  writeSnapshot(snapshot: CgroupSnapshot, sample: MemorySample): void {
    this.write(JSON.stringify(snapshotToJson(sample.go ? { ...snapshot, go: sample.go } : snapshot)));
  }

  async close(): Promise<void> {
    await this.#chain;
    await this.#handle.close();
    if (this.#error !== undefined) throw new EnvironmentError(`writing the recording ${this.file} failed: ${this.#error instanceof Error ? this.#error.message : String(this.#error)}`);
  }
}
