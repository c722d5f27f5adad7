import { BodyPool, GrowableBuffer } from '../../../src/sampling/body-pool.ts';

// Pooled receive buffers: a body copied in chunk by chunk, buffers reused, at most `size` in use.
describe('GrowableBuffer', () => {
  it('holds what was appended, across growth, and starts over when emptied', () => {
    const b = new GrowableBuffer();
    const text = 'x'.repeat(70_000) + 'end';
    for (let i = 0; i < text.length; i += 1000) b.append(Buffer.from(text.slice(i, i + 1000)));
    expect(b.bytes().toString()).toBe(text);
    b.length = 0;
    b.append(Buffer.from('again'));
    expect(b.bytes().toString()).toBe('again');
  });
});

describe('BodyPool', () => {
  it('lends at most `size` buffers at once, the others wait, and the same buffers come back emptied', async () => {
    const pool = new BodyPool(2);
    let inUse = 0;
    let most = 0;
    const seen = new Set<GrowableBuffer>();
    const release: (() => void)[] = [];
    const runs = Array.from({ length: 5 }, (_, i) =>
      pool.use(async (b) => {
        expect(b.length).toBe(0);
        seen.add(b);
        most = Math.max(most, ++inUse);
        b.append(Buffer.from(`body ${i}`));
        await new Promise<void>((r) => release.push(r));
        inUse--;
        return b.bytes().toString();
      }),
    );
    // Let each waiting use start, then finish the oldest: five uses, two at a time.
    for (let released = 0; released < 5; released++) {
      for (let i = 0; i < 10 && release.length === 0; i++) await new Promise((r) => setImmediate(r));
      release.shift()!();
    }
    expect(await Promise.all(runs)).toEqual(['body 0', 'body 1', 'body 2', 'body 3', 'body 4']);
    expect(most).toBe(2);
    expect(seen.size).toBe(2);
  });

  it('gives the buffer back when the use throws', async () => {
    const pool = new BodyPool(1);
    await expect(pool.use(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await pool.use(async (b) => b.length)).toBe(0);
  });
});
