import { LineRecorder } from '../report/line-recorder.ts';
import { snapshotToJson } from '../sources/cgroup.ts';
import type { CgroupSnapshot } from '../sources/cgroup.ts';

/**
 * `memaudit run/watch --record FILE`: every cgroup snapshot as one JSON line (docs/formats.md),
 * the format `memaudit analyze --cgroup FILE` reads.
 */
export class SnapshotRecorder {
  readonly #lines: LineRecorder;

  private constructor(lines: LineRecorder) {
    this.#lines = lines;
  }

  get file(): string {
    return this.#lines.file;
  }

  static async open(file: string): Promise<SnapshotRecorder> {
    return new SnapshotRecorder(await LineRecorder.open(file));
  }

  write(snapshot: CgroupSnapshot): void {
    this.#lines.write(JSON.stringify(snapshotToJson(snapshot)));
  }

  /** Flushes and closes; throws UsageError when a write failed. */
  close(): Promise<void> {
    return this.#lines.close();
  }
}
