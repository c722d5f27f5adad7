import { AuditEvidence } from '../../../src/controller/evidence.ts';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { EVIDENCE_KEY, EvidenceStore, UNREADABLE_EVIDENCE_KEY, persistDue, persistEvidence, restoreEvidence } from '../../../src/controller/evidence-store.ts';
import { KubeApiError } from '../../../src/controller/runtime/kube/api-error.ts';
import { T0, auditOf, fakeClient, log, round } from './reconcile/fakes.ts';
import type { Answer, Call } from './reconcile/fakes.ts';

// The evidence ConfigMap kept by a recorder that plays the API server: a PUT of a ConfigMap that
// does not exist yet is a NotFound, and the store then creates it.
const PATH = '/api/v1/namespaces/ns/configmaps/memaudit-evidence-x';
const audit = auditOf({ selector: {} });

function apiServer() {
  const calls: Call[] = [];
  let stored: { binaryData: Record<string, string> } | undefined;
  let down = false;
  const answer: Answer = (method, path, body) => {
    if (down) return new KubeApiError(503, 'ServiceUnavailable', 'HTTP 503');
    if (method === 'GET') return stored ?? new KubeApiError(404, 'NotFound', 'not found');
    if (method === 'PUT' && !stored) return new KubeApiError(404, 'NotFound', 'not found');
    if (method === 'PUT' || method === 'POST') stored = body as typeof stored;
    return undefined;
  };
  return { calls, store: new EvidenceStore(fakeClient(calls, () => '', answer), log), goDown: () => (down = true), stored: () => stored, put: (cm: NonNullable<typeof stored>) => (stored = cm) };
}

function dirtyEvidence(): AuditEvidence {
  const ev = new AuditEvidence('u1');
  ev.target('a', 'app').addSample({ timestampMs: T0, usageBytes: 64 * 1024 });
  ev.lastRoundMs = T0;
  ev.dirty = true;
  return ev;
}

describe('persistDue', () => {
  it('is due when the evidence changed and a sync period passed since the last save; never with period 0', () => {
    const r = round(audit, T0 + 30_000, dirtyEvidence());
    r.evidence.lastPersistMs = T0;
    expect(persistDue(r, 30_000)).toBe(true);
    expect(persistDue(r, 0)).toBe(false);
    expect(persistDue({ ...r, nowMs: T0 + 29_999 }, 30_000)).toBe(false);
    r.evidence.dirty = false;
    expect(persistDue(r, 30_000)).toBe(false);
  });
});

describe('persistEvidence and restoreEvidence', () => {
  it('saves the evidence into the audit\'s ConfigMap (creating it) and a new controller restores it', async () => {
    const { calls, store } = apiServer();
    const r = round(audit, T0 + 30_000, dirtyEvidence());
    await persistEvidence(store, () => true, r);
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([`PUT ${PATH}`, 'POST /api/v1/namespaces/ns/configmaps']);
    expect([r.evidence.dirty, r.evidence.lastPersistMs]).toEqual([false, T0 + 30_000]);
    const back = await restoreEvidence(store, audit, log);
    expect(back.restoredFrom).toBe('ns/memaudit-evidence-x');
    expect(back.targets.get('a/app')!.samples()).toEqual([{ timestampMs: T0, usageBytes: 64 * 1024 }]);
    expect(calls.at(-1)).toEqual({ method: 'GET', path: PATH });
  });

  it('keeps the evidence dirty when the save fails (the next round retries), and saves nothing when not leading', async () => {
    const { calls, store, goDown } = apiServer();
    const r = round(audit, T0 + 30_000, dirtyEvidence());
    await persistEvidence(store, () => false, r);
    expect(calls).toEqual([]);
    goDown();
    await persistEvidence(store, () => true, r);
    expect([r.evidence.dirty, r.evidence.lastPersistMs]).toEqual([true, 0]);
  });

  it('starts afresh from evidence it cannot read (garbage, a format of a later controller), and keeps those bytes beside the new evidence', async () => {
    const newer = gzipSync(JSON.stringify({ v: 99, uid: 'u1', targets: [] })).toString('base64');
    for (const unreadable of [Buffer.from('not gzip at all').toString('base64'), newer]) {
      const { store, stored, put } = apiServer();
      put({ binaryData: { [EVIDENCE_KEY]: unreadable } });
      const warnings: string[] = [];
      const ev = await restoreEvidence(store, audit, pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) }));
      expect([ev.uid, ev.restoredFrom, ev.targets.size]).toEqual(['u1', undefined, 0]);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/configmap ns\/memaudit-evidence-x/);
      expect(warnings[0]).toMatch(unreadable === newer ? /unknown evidence format version 99/ : /gzip|header|incorrect/i);
      // The round's evidence is saved; the bytes it could not read stay, under their own key.
      const r = round(audit, T0 + 30_000, ev);
      ev.target('a', 'app').addSample({ timestampMs: T0, usageBytes: 64 * 1024 });
      ev.dirty = true;
      await persistEvidence(store, () => true, r);
      expect(stored()!.binaryData[UNREADABLE_EVIDENCE_KEY]).toBe(unreadable);
      const back = await restoreEvidence(store, audit, log);
      expect(back.targets.get('a/app')!.samples()).toEqual([{ timestampMs: T0, usageBytes: 64 * 1024 }]);
      // ...and are carried on by every later save, until the audit and its ConfigMap are deleted.
      back.dirty = true;
      await persistEvidence(store, () => true, round(audit, T0 + 60_000, back));
      expect(stored()!.binaryData[UNREADABLE_EVIDENCE_KEY]).toBe(unreadable);
    }
  });

  it('starts fresh without a store or a saved ConfigMap', async () => {
    expect((await restoreEvidence(null, audit, log)).targets.size).toBe(0);
    const fresh = await restoreEvidence(apiServer().store, audit, log);
    expect([fresh.uid, fresh.restoredFrom, fresh.targets.size]).toEqual(['u1', undefined, 0]);
  });
});
