import type { Logger } from 'pino';

/** What a reconcile asks for: run again after this long, or not until something changes. */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

export type ReconcileFn = (key: string) => Promise<ReconcileResult>;

interface KeyState {
  running: boolean;
  /** Set when the key was enqueued while running: run once more right after. */
  dirty: boolean;
  timer: NodeJS.Timeout | undefined;
  dueMs: number;
  failures: number;
}

export interface QueueOptions {
  /** Backoff after a failed reconcile: initial * 2^failures, capped. */
  retryInitialMs: number;
  retryMaxMs: number;
  /** Reconciles running at once across keys. */
  concurrency: number;
  now?: () => number;
}

/**
 * One serial queue per key: two reconciles of the same audit never overlap, an enqueue while one
 * runs becomes one more run afterwards (never a pile-up), and a delayed enqueue never postpones
 * an earlier one. A thrown error is logged and retried with per-key backoff; it never reaches the
 * event loop.
 */
export class KeyedQueue {
  private readonly states = new Map<string, KeyState>();
  private readonly reconcile: ReconcileFn;
  private readonly log: Logger;
  private readonly options: QueueOptions;
  private readonly ready: string[] = [];
  private active = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  onResult: ((key: string, ok: boolean, durationMs: number) => void) | undefined;

  constructor(reconcile: ReconcileFn, log: Logger, options: QueueOptions) {
    this.reconcile = reconcile;
    this.log = log;
    this.options = options;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Runs the key after delayMs (0 = as soon as possible), unless it is already due sooner. */
  add(key: string, delayMs = 0): void {
    if (this.stopped) return;
    let st = this.states.get(key);
    if (!st) this.states.set(key, (st = { running: false, dirty: false, timer: undefined, dueMs: Infinity, failures: 0 }));
    if (st.running) {
      if (delayMs === 0) st.dirty = true;
      else this.schedule(key, st, delayMs);
      return;
    }
    this.schedule(key, st, delayMs);
  }

  get length(): number {
    return this.states.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const st of this.states.values()) clearTimeout(st.timer);
    if (this.active > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
    this.states.clear();
  }

  private schedule(key: string, st: KeyState, delayMs: number): void {
    const due = this.now() + Math.max(0, delayMs);
    if (st.timer !== undefined && st.dueMs <= due) return;
    clearTimeout(st.timer);
    st.dueMs = due;
    st.timer = setTimeout(() => {
      st.timer = undefined;
      st.dueMs = Infinity;
      this.ready.push(key);
      this.pump();
    }, Math.max(0, delayMs));
  }

  private pump(): void {
    while (!this.stopped && this.active < this.options.concurrency && this.ready.length > 0) {
      const key = this.ready.shift()!;
      const st = this.states.get(key);
      if (!st) continue;
      if (st.running) {
        st.dirty = true;
        continue;
      }
      void this.runOne(key, st);
    }
  }

  private async runOne(key: string, st: KeyState): Promise<void> {
    st.running = true;
    this.active++;
    const started = this.now();
    let next: number | undefined;
    let ok = true;
    try {
      const result = await this.reconcile(key);
      st.failures = 0;
      next = result.requeueAfterMs;
    } catch (e) {
      ok = false;
      st.failures++;
      next = Math.min(this.options.retryInitialMs * 2 ** (st.failures - 1), this.options.retryMaxMs);
      this.log.warn({ key, err: e instanceof Error ? e.message : String(e), retryInMs: next, failures: st.failures }, 'Reconcile failed');
    } finally {
      st.running = false;
      this.active--;
    }
    this.onResult?.(key, ok, this.now() - started);
    if (this.stopped) {
      if (this.active === 0) for (const w of this.idleWaiters.splice(0)) w();
      return;
    }
    if (st.dirty) {
      st.dirty = false;
      this.schedule(key, st, 0);
    } else if (next !== undefined) {
      this.schedule(key, st, next);
    } else if (st.timer === undefined) {
      this.states.delete(key);
    }
    this.pump();
  }
}
