import { slimPod } from '../../../../src/controller/runtime/kube/slim.ts';
import type { Pod } from '../../../../src/controller/runtime/kube/types.ts';

// The Pod informer keeps what types.ts declares: a Pod as the API server sends it, slimmed in
// place (the cache holds the same object).
const full = () => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web-7d9f-abcde',
    generateName: 'web-7d9f-',
    namespace: 'shop',
    uid: 'u1',
    resourceVersion: '123',
    creationTimestamp: '2026-11-30T00:00:00Z',
    labels: { app: 'web', 'pod-template-hash': '7d9f' },
    annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-11-30T00:00:00Z', big: 'x'.repeat(4000) },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9f', uid: 'rs1', controller: true, blockOwnerDeletion: true }],
    managedFields: [{ manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': {} } } }],
  },
  spec: {
    nodeName: 'node-1',
    volumes: [{ name: 'kube-api-access', projected: { sources: [] } }],
    containers: [
      {
        name: 'app',
        image: 'web:1',
        env: [{ name: 'A', value: 'b' }],
        ports: [{ containerPort: 6060, name: 'pprof', protocol: 'TCP' }],
        resources: { limits: { memory: '256Mi' }, requests: { memory: '128Mi' } },
        livenessProbe: { httpGet: { path: '/healthz', port: 8080 } },
        volumeMounts: [{ name: 'kube-api-access', mountPath: '/var/run/secrets' }],
      },
    ],
    tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
  },
  status: {
    phase: 'Running',
    podIP: '10.0.0.7',
    hostIP: '192.168.0.1',
    conditions: [{ type: 'Ready', status: 'True' }],
    containerStatuses: [
      { name: 'app', ready: true, restartCount: 2, containerID: 'containerd://c2', image: 'web:1', imageID: 'sha256:x', started: true, state: { running: { startedAt: '2026-11-30T01:00:00Z' } }, lastState: { terminated: { reason: 'OOMKilled', exitCode: 137, containerID: 'containerd://c1' } } },
    ],
  },
});

describe('slimPod', () => {
  it('keeps the fields the controller reads, in the same object, and drops the rest', () => {
    const pod = full() as unknown as Pod;
    const before = JSON.stringify(pod).length;
    expect(slimPod(pod)).toBe(pod);
    expect(pod).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-7d9f-abcde', namespace: 'shop', uid: 'u1', resourceVersion: '123', labels: { app: 'web', 'pod-template-hash': '7d9f' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9f', uid: 'rs1', controller: true, blockOwnerDeletion: true }] },
      spec: { nodeName: 'node-1', containers: [{ name: 'app', ports: [{ containerPort: 6060, name: 'pprof', protocol: 'TCP' }], resources: { limits: { memory: '256Mi' }, requests: { memory: '128Mi' } } }] },
      status: { phase: 'Running', podIP: '10.0.0.7', containerStatuses: [{ name: 'app', ready: true, restartCount: 2, containerID: 'containerd://c2', state: { running: { startedAt: '2026-11-30T01:00:00Z' } }, lastState: { terminated: { reason: 'OOMKilled', exitCode: 137, containerID: 'containerd://c1' } } }] },
    });
    expect(JSON.stringify(pod).length).toBeLessThan(before / 5);
  });

  it('keeps a deletion timestamp, and a pod not yet scheduled or without status', () => {
    const pod = { metadata: { name: 'p', namespace: 'n', deletionTimestamp: '2026-11-30T00:00:00Z' }, spec: { containers: [{ name: 'app' }] } } as Pod;
    expect(slimPod(pod)).toEqual({ metadata: { name: 'p', namespace: 'n', deletionTimestamp: '2026-11-30T00:00:00Z' }, spec: { containers: [{ name: 'app' }] } });
  });
});
