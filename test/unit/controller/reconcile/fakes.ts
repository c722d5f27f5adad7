import { pino } from 'pino';
import type { MemoryAudit } from '../../../../src/controller/api/v1alpha1.ts';
import { AuditEvidence } from '../../../../src/controller/evidence.ts';
import type { Round } from '../../../../src/controller/reconcile/round.ts';
import { isNotFound } from '../../../../src/controller/runtime/kube/api-error.ts';
import type { KubeClient } from '../../../../src/controller/runtime/kube/client.ts';
import type { Pod } from '../../../../src/controller/runtime/kube/types.ts';
import { resolveSpec } from '../../../../src/controller/spec.ts';
import { KubeletReader } from '../../../../src/sampling/kubelet.ts';
import { PodPprofReader } from '../../../../src/sampling/pod-pprof.ts';

// What the reconcile tests share: the API server and the kubelet replaced by a recorder that
// answers from a table, Pod and MemoryAudit objects, and a Round at a fixed time.
export const log = pino({ level: 'silent' });
export const MiB = 1024 * 1024;
export const T0 = Date.UTC(2026, 0, 1);

export interface Call {
  method: string;
  path: string;
  body?: unknown;
}

/** Answers: a function of the request, or the recorder's defaults ({} for JSON, `raw()` for bytes). */
export type Answer = (method: string, path: string, body: unknown) => unknown;

export function fakeClient(calls: Call[], raw: (path: string) => string | Buffer, answer?: Answer): KubeClient {
  const reply = (method: string, path: string, body?: unknown) => {
    calls.push(body === undefined ? { method, path } : { method, path, body });
    const a = answer?.(method, path, body);
    if (a instanceof Error) throw a;
    return a;
  };
  return {
    async json(method: string, path: string, options: { body?: unknown } = {}) {
      return reply(method, path, options.body) ?? {};
    },
    async get(path: string) {
      return reply('GET', path) ?? {};
    },
    async request(method: string, path: string) {
      reply(method, path);
      return Buffer.from(raw(path));
    },
  } as unknown as KubeClient;
}

export function cadvisorText(usage: number, cache: number, ts: number, pods: string[]): string {
  const lines: string[] = [];
  for (const pod of pods) {
    const l = `container="app",id="/kubepods/pod-${pod}/c",image="x",name="c",namespace="ns",pod="${pod}"`;
    lines.push(`container_memory_usage_bytes{${l}} ${usage} ${ts}`, `container_memory_cache{${l}} ${cache} ${ts}`, `container_memory_rss{${l}} ${usage - cache} ${ts}`, `container_memory_working_set_bytes{${l}} ${usage - cache} ${ts}`);
  }
  return lines.join('\n') + '\n';
}

export const pod = (name: string, over: Partial<Pod['metadata']> = {}, node = 'n1'): Pod => ({
  metadata: { name, namespace: 'ns', uid: `uid-${name}`, labels: { app: 'x' }, ...over },
  spec: { nodeName: node, containers: [{ name: 'app', ports: [{ containerPort: 6060 }] }] },
  status: { phase: 'Running', podIP: '10.0.0.9' },
});

export const auditOf = (spec: MemoryAudit['spec'], status?: MemoryAudit['status']): MemoryAudit => ({ apiVersion: 'memaudit.io/v1alpha1', kind: 'MemoryAudit', metadata: { name: 'x', namespace: 'ns', uid: 'u1', generation: 2 }, spec, ...(status ? { status } : {}) });

export function round(audit: MemoryAudit, nowMs = T0, evidence = new AuditEvidence('u1')): Round {
  const spec = resolveSpec(audit.spec);
  if ('error' in spec) throw new Error(spec.error);
  return { audit, spec, evidence, nowMs, log, events: [] };
}

/** Readers over a fake client through the API server's proxies; `now` drives the kubelet's max age. */
export function readers(client: KubeClient, now: () => number) {
  return {
    kubelet: new KubeletReader({ api: client, isNotFound, config: { kubeletAccess: 'proxy', kubeletCaFile: null, kubeletInsecureSkipTlsVerify: false, kubeletTimeoutMs: 1000 }, observe: () => undefined, log, now }),
    pprof: new PodPprofReader({ api: client, config: { pprofAccess: 'proxy', pprofTimeoutMs: 1000 }, observe: () => undefined }),
  };
}
