import { jest } from '@jest/globals';
import { pino } from 'pino';
import { KeyedQueue } from '../../../../src/controller/runtime/queue.ts';
import type { QueueOptions, ReconcileFn } from '../../../../src/controller/runtime/queue.ts';

// The queue's schedule is checked on jest's fake clock (timers and Date.now together), so the
// assertions are exact and do not depend on how busy the machine is.

const log = pino({ level: 'silent' });
/** Advances the fake clock, running due timers and the promise callbacks they start. */
const advance = (ms: number) => jest.advanceTimersByTimeAsync(ms);
/** Resolves after `ms` of fake time: a reconcile that takes that long. */
const work = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let queues: KeyedQueue[] = [];
const queue = (fn: ReconcileFn, options: Partial<QueueOptions> = {}): KeyedQueue => {
  const q = new KeyedQueue(fn, log, { retryInitialMs: 10, retryMaxMs: 100, concurrency: 1, ...options });
  queues.push(q);
  return q;
};

beforeEach(() => {
  jest.useFakeTimers({ now: 0 });
});

afterEach(async () => {
  // Stopped even when an assertion failed, so no timer outlives its test.
  const stopping = Promise.all(queues.map((q) => q.stop()));
  await jest.runOnlyPendingTimersAsync();
  await stopping;
  queues = [];
  jest.useRealTimers();
});

describe('KeyedQueue', () => {
  it('never runs one key twice at once, and coalesces enqueues made while it runs into one more run', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    let release!: () => void;
    const q = queue(
      async () => {
        running++;
        runs++;
        maxRunning = Math.max(maxRunning, running);
        if (runs === 1) await new Promise<void>((r) => (release = r));
        running--;
        return {};
      },
      { concurrency: 4 },
    );
    q.add('ns/a');
    await advance(5);
    expect(runs).toBe(1);
    for (let i = 0; i < 5; i++) q.add('ns/a');
    release();
    await advance(30);
    expect(maxRunning).toBe(1);
    expect(runs).toBe(2);
    expect(q.length).toBe(0);
  });

  it('runs different keys concurrently up to the limit', async () => {
    let running = 0;
    let maxRunning = 0;
    const done: string[] = [];
    const q = queue(
      async (key) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await work(20);
        running--;
        done.push(key);
        return {};
      },
      { concurrency: 2 },
    );
    for (const k of ['a', 'b', 'c', 'd']) q.add(k);
    await advance(20);
    expect(done).toEqual(['a', 'b']);
    await advance(20);
    expect(done).toEqual(['a', 'b', 'c', 'd']);
    expect(maxRunning).toBe(2);
  });

  it('requeues after the delay the reconcile asks for, and an earlier add wins over a later one', async () => {
    const times: number[] = [];
    const q = queue(async () => {
      times.push(Date.now());
      return times.length < 3 ? { requeueAfterMs: 30 } : {};
    });
    q.add('k', 500);
    q.add('k', 0);
    await advance(200);
    expect(times).toEqual([0, 30, 60]);
    expect(q.length).toBe(0);
  });

  it('retries a failing key with doubling backoff up to the cap, and keeps serving other keys', async () => {
    const attempts: number[] = [];
    let other = 0;
    const q = queue(
      async (key) => {
        if (key === 'bad') {
          attempts.push(Date.now());
          throw new Error('boom');
        }
        other++;
        return {};
      },
      { retryInitialMs: 10, retryMaxMs: 40 },
    );
    q.add('bad');
    q.add('good');
    await advance(150);
    expect(other).toBe(1);
    // 10, 20, 40, then 40 ms apart (capped)
    expect(attempts).toEqual([0, 10, 30, 70, 110, 150]);
  });

  it('a success resets the backoff', async () => {
    const attempts: number[] = [];
    const q = queue(async () => {
      attempts.push(Date.now());
      if (attempts.length === 3) return { requeueAfterMs: 5 };
      throw new Error('boom');
    });
    q.add('k');
    await advance(40);
    // fail at 0 (+10), fail at 10 (+20), succeed at 30 (+5), fail at 35 (+10 again, not +40)
    expect(attempts).toEqual([0, 10, 30, 35]);
  });

  it('stop waits for the running reconcile and then runs nothing more', async () => {
    let finished = 0;
    let runs = 0;
    const q = queue(async () => {
      runs++;
      await work(20);
      finished++;
      return { requeueAfterMs: 1 };
    });
    q.add('k');
    q.add('later', 50);
    await advance(5);
    const stopped = q.stop();
    await advance(20);
    await stopped;
    expect(finished).toBe(1);
    await advance(100);
    expect(runs).toBe(1);
    q.add('k');
    await advance(10);
    expect(runs).toBe(1);
  });
});
