// Receive buffers kept and reused for large response bodies (a kubelet's /metrics/cadvisor: some
// 5 MB a node, 500 MB a round at 100 nodes). A body gathered as chunks and joined with
// Buffer.concat is allocated twice a round and outlives the young generation: V8 counts it as
// external memory and starts a full collection every few tens of megabytes, which marked the
// controller's whole heap over and over (at 20,000 containers the GC threads took 20 s of CPU a
// round against 8 s for the main thread). Here the body is copied into a buffer of the pool as it
// arrives; the pool's buffers grow to the largest body and stay. (The chunks themselves are the
// same external memory when node:https allocates them, short-lived or not: tls-get.ts reads them
// into one buffer.) The pool's size bounds the bodies held at once, so it also bounds how many
// are fetched at once: a fetch waits for a free buffer.

export class BodyPool {
  readonly #free: GrowableBuffer[] = [];
  readonly #waiting: ((b: GrowableBuffer) => void)[] = [];
  #created = 0;
  readonly #size: number;

  constructor(size: number) {
    this.#size = Math.max(1, size);
  }

  /** Runs `fn` with a buffer of the pool (emptied), waiting for one when all are in use. */
  async use<T>(fn: (body: GrowableBuffer) => Promise<T>): Promise<T> {
    const body = this.#free.pop() ?? (this.#created < this.#size ? (this.#created++, new GrowableBuffer()) : await new Promise<GrowableBuffer>((r) => this.#waiting.push(r)));
    body.length = 0;
    try {
      return await fn(body);
    } finally {
      const next = this.#waiting.shift();
      if (next) next(body);
      else this.#free.push(body);
    }
  }
}

/** A byte buffer that grows (doubling) and is reused: `bytes()` is valid until the next use. */
export class GrowableBuffer {
  #buf = Buffer.allocUnsafe(0);
  length = 0;

  append(chunk: Uint8Array): void {
    if (this.length + chunk.length > this.#buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(64 * 1024, 2 * this.#buf.length, this.length + chunk.length));
      this.#buf.copy(grown, 0, 0, this.length);
      this.#buf = grown;
    }
    this.#buf.set(chunk, this.length);
    this.length += chunk.length;
  }

  /** The bytes appended so far: a view of the pooled buffer, not a copy. */
  bytes(): Buffer {
    return this.#buf.subarray(0, this.length);
  }
}
