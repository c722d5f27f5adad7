import { LabelIndex } from '../../../../src/controller/runtime/label-index.ts';
import { selectorMatches, type LabelSelector } from '../../../../src/controller/runtime/kube/selector.ts';

// The pods a selector can match, kept from informer events: always a superset of the matching
// ones (checked against a scan of everything), never pods of another namespace.
type Obj = { metadata: { name: string; namespace: string; labels?: Record<string, string> } };
const pod = (namespace: string, name: string, labels?: Record<string, string>): Obj => ({ metadata: { name, namespace, labels } });
const names = (xs: Obj[]) => xs.map((x) => x.metadata.name).sort();

describe('LabelIndex', () => {
  it('starts from the rarest matchLabels pair, scans the namespace without one, and follows updates and deletes', () => {
    const ix = new LabelIndex<Obj>();
    for (let i = 0; i < 10; i++) ix.set(pod('shop', `web-${i}`, { app: 'web', tier: i < 2 ? 'canary' : 'main' }));
    ix.set(pod('shop', 'db-0', { app: 'db' }));
    ix.set(pod('other', 'web-0', { app: 'web', tier: 'canary' }));
    expect(names(ix.candidates('shop', { matchLabels: { app: 'web', tier: 'canary' } }))).toEqual(['web-0', 'web-1']);
    expect(ix.candidates('shop', { matchLabels: { app: 'nope' } })).toEqual([]);
    expect(ix.candidates('none', {})).toEqual([]);
    expect(ix.candidates('shop', { matchExpressions: [{ key: 'app', operator: 'In', values: ['db'] }] })).toHaveLength(11);
    // Relabelled: out of the old pair, into the new one.
    ix.set(pod('shop', 'web-0', { app: 'web', tier: 'main' }));
    expect(names(ix.candidates('shop', { matchLabels: { tier: 'canary' } }))).toEqual(['web-1']);
    ix.delete(pod('shop', 'web-1'));
    expect(ix.candidates('shop', { matchLabels: { tier: 'canary' } })).toEqual([]);
    expect(names(ix.candidates('other', { matchLabels: { app: 'web' } }))).toEqual(['web-0']);
  });

  it('gives a superset of what a scan matches, over random pods, selectors and changes', () => {
    let seed = 7;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const ix = new LabelIndex<Obj>();
    const all = new Map<string, Obj>();
    const labels = () => Object.fromEntries(['app', 'tier', 'team'].filter(() => rnd(3) > 0).map((k) => [k, `v${rnd(3)}`]));
    for (let step = 0; step < 2000; step++) {
      const p = pod(`ns${rnd(2)}`, `p${rnd(50)}`, labels());
      const key = `${p.metadata.namespace}/${p.metadata.name}`;
      if (rnd(5) === 0) {
        ix.delete(p);
        all.delete(key);
      } else {
        ix.set(p);
        all.set(key, p);
      }
      const sel: LabelSelector = { matchLabels: labels() };
      const ns = `ns${rnd(2)}`;
      const want = names([...all.values()].filter((x) => x.metadata.namespace === ns && selectorMatches(sel, x.metadata.labels)));
      const got = names(ix.candidates(ns, sel).filter((x) => selectorMatches(sel, x.metadata.labels)));
      expect(got).toEqual(want);
      expect(ix.candidates(ns, sel).every((x) => x.metadata.namespace === ns)).toBe(true);
    }
  });
});
