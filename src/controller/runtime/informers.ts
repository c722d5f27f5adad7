import { makeInformer, type Informer, type KubeConfig, type KubernetesListObject, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import type { Logger } from 'pino';

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/** Capped low: a relist every 10 s against an API server that is away costs little, and it is back sooner. */
const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 10_000 };

export type Handler<T> = (obj: T) => void;

/** Objects as the API server sends them (dates stay strings; client-node's models say Date). */
export interface WatchedObject {
  metadata: { name: string; namespace?: string };
}

/**
 * A client-node informer that does not stay dead. client-node's ListWatch calls its `error`
 * handlers and stops when a list or a watch (re)connect fails (e.g. while the API server
 * restarts); this restarts it with exponential backoff, and tracks whether the cache has synced
 * (a list succeeded) for /readyz. Callbacks never throw into the informer.
 */
export class SupervisedInformer<T extends WatchedObject> {
  readonly name: string;
  private readonly informer: Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private delayMs: number;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private lastListMs = 0;
  /** Times a list succeeded; the first one means the cache is synced. */
  listCount = 0;
  onRestart: ((name: string) => void) | undefined;

  /**
   * `slim`, when given, trims each object in place to what the controller reads before the cache
   * keeps it (kube/slim.ts): the listed items here, and each watched object in the first handler,
   * which runs before any other (client-node stores the object, then calls the handlers).
   */
  constructor(name: string, kubeConfig: KubeConfig, path: string, list: () => Promise<{ metadata?: { resourceVersion?: string }; items: T[] }>, log: Logger, options: { backoff?: Backoff; slim?: (obj: T) => T } = {}) {
    this.name = name;
    this.log = log.child({ informer: name });
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.delayMs = this.backoff.initialMs;
    const slim = options.slim;
    this.informer = makeInformer<KubernetesObject>(kubeConfig, path, async () => {
      const listed = await list();
      if (slim) for (const item of listed.items) slim(item);
      const result = listed as unknown as KubernetesListObject<KubernetesObject>;
      this.listCount++;
      this.lastListMs = Date.now();
      return result;
    });
    if (slim) for (const verb of ['add', 'update'] as const) this.informer.on(verb, (obj: KubernetesObject) => void slim(obj as unknown as T));
    this.informer.on('error', (err: unknown) => this.failed(err));
    this.informer.on('connect', () => {
      // A watch that stays up for a while resets the backoff.
      if (Date.now() - this.lastListMs > this.backoff.maxMs) this.delayMs = this.backoff.initialMs;
    });
  }

  get synced(): boolean {
    return this.listCount > 0;
  }

  on(verb: 'add' | 'update' | 'delete', handler: Handler<T>): void {
    this.informer.on(verb, (obj: KubernetesObject) => {
      try {
        handler(obj as unknown as T);
      } catch (e) {
        this.log.error({ err: e, verb }, 'Informer handler failed');
      }
    });
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace) as unknown as T | undefined;
  }

  list(namespace?: string): readonly T[] {
    return this.informer.list(namespace) as unknown as readonly T[];
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.informer.start().catch((e: unknown) => this.failed(e));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.informer.stop();
  }

  private failed(err: unknown): void {
    if (this.stopped) return;
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, this.backoff.maxMs);
    this.log.warn({ err: describe(err), retryInMs: delay }, 'Informer failed; restarting');
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.stopped) return;
      this.onRestart?.(this.name);
      void this.informer.start().catch((e: unknown) => this.failed(e));
    }, delay);
  }
}

function describe(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: { code?: string } }).cause;
    return cause?.code ? `${e.message} (${cause.code})` : e.message;
  }
  return String(e);
}
