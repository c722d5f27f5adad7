import type { Handler, SupervisedInformer, WatchedObject } from './informers.ts';

/**
 * The informers of several watched namespaces, seen as one (`--namespace a,b`): one list/watch per
 * namespace, so the controller needs a Role in each of them and no cluster-wide read of audits or
 * pods. With one member for all namespaces (the key '') it is the cluster-wide informer as is.
 *
 * get/list with a namespace ask that namespace's informer (nothing when it is not watched);
 * without one they merge every member. Synced when every member has listed once.
 */
export class InformerGroup<T extends WatchedObject> {
  readonly name: string;
  readonly #members: ReadonlyMap<string, SupervisedInformer<T>>;

  /** members: namespace -> informer; '' for one informer over all namespaces. */
  constructor(name: string, members: ReadonlyMap<string, SupervisedInformer<T>>) {
    if (members.size === 0) throw new Error(`informer group ${name}: no members`);
    this.name = name;
    this.#members = members;
  }

  get synced(): boolean {
    return [...this.#members.values()].every((m) => m.synced);
  }

  set onRestart(fn: ((name: string) => void) | undefined) {
    for (const m of this.#members.values()) m.onRestart = fn;
  }

  on(verb: 'add' | 'update' | 'delete', handler: Handler<T>): void {
    for (const m of this.#members.values()) m.on(verb, handler);
  }

  get(name: string, namespace?: string): T | undefined {
    if (namespace !== undefined) return this.#member(namespace)?.get(name, namespace);
    for (const m of this.#members.values()) {
      const found = m.get(name);
      if (found) return found;
    }
    return undefined;
  }

  list(namespace?: string): readonly T[] {
    if (namespace !== undefined) return this.#member(namespace)?.list(namespace) ?? [];
    return [...this.#members.values()].flatMap((m) => m.list());
  }

  async start(): Promise<void> {
    await Promise.all([...this.#members.values()].map((m) => m.start()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#members.values()].map((m) => m.stop()));
  }

  #member(namespace: string): SupervisedInformer<T> | undefined {
    return this.#members.get(namespace) ?? this.#members.get('');
  }
}
