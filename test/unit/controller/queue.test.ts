import { pino } from 'pino';
import { KeyedQueue } from '../../../src/controller/queue.ts';

const log = pino({ level: 'silent' });
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('KeyedQueue', () => {
  it('never runs one key twice at once, and coalesces enqueues made while it runs into one more run', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    let release!: () => void;
    const q = new KeyedQueue(
      async () => {
        running++;
        runs++;
        maxRunning = Math.max(maxRunning, running);
        if (runs === 1) await new Promise<void>((r) => (release = r));
        running--;
        return {};
      },
      log,
      { retryInitialMs: 10, retryMaxMs: 100, concurrency: 4 },
    );
    q.add('ns/a');
    await tick(5);
    for (let i = 0; i < 5; i++) q.add('ns/a');
    release();
    await tick(30);
    expect(maxRunning).toBe(1);
    expect(runs).toBe(2);
    await q.stop();
  });

  it('runs different keys concurrently up to the limit', async () => {
    let running = 0;
    let maxRunning = 0;
    const q = new KeyedQueue(
      async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await tick(20);
        running--;
        return {};
      },
      log,
      { retryInitialMs: 10, retryMaxMs: 100, concurrency: 2 },
    );
    for (const k of ['a', 'b', 'c', 'd']) q.add(k);
    await tick(80);
    expect(maxRunning).toBe(2);
    await q.stop();
  });

  it('requeues after the delay the reconcile asks for, and an earlier add wins over a later one', async () => {
    const times: number[] = [];
    const start = Date.now();
    const q = new KeyedQueue(
      async () => {
        times.push(Date.now() - start);
        return times.length < 3 ? { requeueAfterMs: 30 } : {};
      },
      log,
      { retryInitialMs: 10, retryMaxMs: 100, concurrency: 1 },
    );
    q.add('k', 500);
    q.add('k', 0);
    await tick(120);
    expect(times).toHaveLength(3);
    expect(times[0]!).toBeLessThan(20);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(25);
    await q.stop();
  });

  it('retries a failing key with growing backoff and keeps serving other keys', async () => {
    const attempts: number[] = [];
    let other = 0;
    const start = Date.now();
    const q = new KeyedQueue(
      async (key) => {
        if (key === 'bad') {
          attempts.push(Date.now() - start);
          throw new Error('boom');
        }
        other++;
        return {};
      },
      log,
      { retryInitialMs: 10, retryMaxMs: 40, concurrency: 1 },
    );
    q.add('bad');
    q.add('good');
    await tick(150);
    expect(other).toBe(1);
    expect(attempts.length).toBeGreaterThanOrEqual(4);
    // 10, 20, 40, 40 ms apart (capped)
    expect(attempts[2]! - attempts[1]!).toBeGreaterThanOrEqual(15);
    await q.stop();
  });

  it('forget cancels a pending run and a running key is not requeued', async () => {
    let runs = 0;
    const q = new KeyedQueue(
      async () => {
        runs++;
        await tick(20);
        return { requeueAfterMs: 5 };
      },
      log,
      { retryInitialMs: 10, retryMaxMs: 100, concurrency: 1 },
    );
    q.add('k');
    await tick(5);
    q.forget('k');
    await tick(60);
    expect(runs).toBe(1);
    expect(q.length).toBe(0);
    await q.stop();
  });
});
