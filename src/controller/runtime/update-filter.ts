// Which updates of a watched object start a reconcile. The controller writes every audit's status
// each time it changes, and each write comes back as an update event: reconciling on it doubled
// the reconciles (and the analysis they run) for nothing the controller did not know. Like
// controller-runtime's GenerationChangedPredicate with its label and annotation predicates, an
// update counts when the spec (metadata.generation), the labels, the annotations, the uid or the
// deletion timestamp changed; a status-only update does not. Adds and deletes always count.

interface Filtered {
  metadata: { name: string; namespace?: string; uid?: string; generation?: number; labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: unknown };
}

export class UpdateFilter {
  readonly #seen = new Map<string, string>();

  /** Remembers an added object; true (an add always counts). */
  added(obj: Filtered): boolean {
    this.#seen.set(keyOf(obj), fingerprint(obj));
    return true;
  }

  /** True when the update changed something but the status. */
  updated(obj: Filtered): boolean {
    const key = keyOf(obj);
    const fp = fingerprint(obj);
    if (this.#seen.get(key) === fp) return false;
    this.#seen.set(key, fp);
    return true;
  }

  /** Forgets a deleted object; true (a delete always counts). */
  deleted(obj: Filtered): boolean {
    this.#seen.delete(keyOf(obj));
    return true;
  }
}

const keyOf = (o: Filtered) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

function fingerprint({ metadata: m }: Filtered): string {
  return JSON.stringify([m.uid, m.generation, m.deletionTimestamp ?? null, m.labels ?? {}, m.annotations ?? {}]);
}
