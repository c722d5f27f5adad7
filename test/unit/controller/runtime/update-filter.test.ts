import { UpdateFilter } from '../../../../src/controller/runtime/update-filter.ts';

// Which audit updates start a reconcile: the controller's own status writes do not.
const audit = (over: { generation?: number; labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: string; uid?: string; status?: unknown } = {}) => ({
  metadata: { name: 'a', namespace: 'ns', uid: over.uid ?? 'u1', generation: over.generation ?? 1, labels: over.labels, annotations: over.annotations, deletionTimestamp: over.deletionTimestamp },
  status: over.status,
});

describe('UpdateFilter', () => {
  it('lets adds and deletes through, and an update only when the spec, labels, annotations, uid or deletion changed', () => {
    const f = new UpdateFilter();
    expect(f.added(audit())).toBe(true);
    // A status write: same generation, metadata unchanged.
    expect(f.updated(audit({ status: { verdict: 'Leak' } }))).toBe(false);
    expect(f.updated(audit({ generation: 2 }))).toBe(true);
    expect(f.updated(audit({ generation: 2, status: { verdict: 'Stable' } }))).toBe(false);
    expect(f.updated(audit({ generation: 2, labels: { team: 'x' } }))).toBe(true);
    expect(f.updated(audit({ generation: 2, labels: { team: 'x' }, annotations: { 'memaudit.io/claimed-by': 'r1' } }))).toBe(true);
    expect(f.updated(audit({ generation: 2, labels: { team: 'x' }, annotations: { 'memaudit.io/claimed-by': 'r1' }, deletionTimestamp: '2026-11-30T00:00:00Z' }))).toBe(true);
    expect(f.deleted(audit())).toBe(true);
  });

  it('counts the first update of an object it has not seen (an informer relist after a restart)', () => {
    const f = new UpdateFilter();
    expect(f.updated(audit())).toBe(true);
    expect(f.updated(audit())).toBe(false);
  });

  it('a deleted and recreated audit (new uid, generation 1 again) counts', () => {
    const f = new UpdateFilter();
    f.added(audit());
    f.deleted(audit());
    expect(f.added(audit({ uid: 'u2' }))).toBe(true);
    expect(f.updated(audit({ uid: 'u3' }))).toBe(true);
  });
});
