import { pino } from 'pino';
import { KubeApiError, isNotFound } from '../../../src/controller/runtime/kube/api-error.ts';
import { KubeletReader } from '../../../src/sampling/kubelet.ts';
import type { ApiServer, KubeletReaderOptions } from '../../../src/sampling/kubelet.ts';

// The kubelet reader against a recording stand-in for the API server: one fetch per node per
// round however many containers are read, and what is kept per node goes when the node is not
// sampled any more or the API server no longer knows it. The clock is the test's.
const log = pino({ level: 'silent' });
const MiB = 1024 * 1024;
const key = (pod: string) => ({ namespace: 'ns', pod, container: 'app' });

function cadvisorText(ts: number, pods: string[]): string {
  return pods
    .map((pod) => {
      const l = `container="app",id="/kubepods/pod-${pod}/c",image="x",name="c",namespace="ns",pod="${pod}"`;
      return `container_memory_usage_bytes{${l}} ${2 * MiB} ${ts}\ncontainer_memory_cache{${l}} ${MiB} ${ts}\ncontainer_memory_rss{${l}} ${MiB} ${ts}\n`;
    })
    .join('');
}

function world(access: 'proxy' | 'direct' = 'proxy') {
  const w = {
    now: 1_000_000,
    calls: [] as string[],
    /** Nodes the API server knows; a proxy request or a get of any other node is a NotFound. */
    nodes: new Set(['n1', 'n2']),
    observed: [] as boolean[],
  };
  const notFound = (path: string) => new KubeApiError(404, 'NotFound', `GET ${path}: HTTP 404 NotFound: nodes not found`);
  const api: ApiServer = {
    async request(_method, path) {
      w.calls.push(path);
      if (![...w.nodes].some((n) => path.startsWith(`/api/v1/nodes/${n}/`))) throw notFound(path);
      return Buffer.from(cadvisorText(w.now, ['a', 'b']));
    },
    async get<T>(path: string): Promise<T> {
      w.calls.push(path);
      if (![...w.nodes].some((n) => path === `/api/v1/nodes/${n}`)) throw notFound(path);
      // A node without an InternalIP: the direct read stops there, before any HTTPS.
      return { status: { addresses: [{ type: 'Hostname', address: 'n1' }] } } as T;
    },
    kubeConfig: { applyToHTTPSOptions: async () => undefined },
  };
  const options: KubeletReaderOptions = { api, isNotFound, config: { kubeletAccess: access, kubeletCaFile: null, kubeletInsecureSkipTlsVerify: false, kubeletTimeoutMs: 1000 }, observe: (ok) => w.observed.push(ok), log, now: () => w.now };
  return { w, reader: new KubeletReader(options) };
}

describe('KubeletReader', () => {
  it('fetches a node once for every container read at once, and reuses the fetch within the max age', async () => {
    const { w, reader } = world();
    const [a, b] = await Promise.all([reader.container('n1', key('a'), 500), reader.container('n1', key('b'), 500), reader.container('n1', key('a'), 500)]);
    expect(w.calls).toEqual(['/api/v1/nodes/n1/proxy/metrics/cadvisor']);
    expect(a).toMatchObject({ kind: 'data', value: { timestampMs: 1_000_000, usageBytes: 2 * MiB } });
    expect(b.kind).toBe('data');
    w.now += 400;
    await reader.container('n1', key('a'), 500);
    expect(w.calls).toHaveLength(1);
    w.now += 200;
    await reader.container('n1', key('a'), 500);
    expect(w.calls).toHaveLength(2);
    expect(w.observed).toEqual([true, true]);
  });

  it('gives a fresh copy of the sample each time (the caller adds Go runtime data to it)', async () => {
    const { reader } = world();
    const first = await reader.container('n1', key('a'), 500);
    if (first.kind !== 'data') throw new Error(first.reason);
    first.value.go = { heapInuseBytes: 1 };
    const again = await reader.container('n1', key('a'), 500);
    expect(again.kind === 'data' && again.value.go).toBeUndefined();
  });

  it('says retry, naming the node and marked notInMetrics, for a container the node does not report (yet)', async () => {
    const { reader } = world();
    expect(await reader.container('n1', key('c'), 500)).toEqual({ kind: 'retry', reason: 'kubelet on node n1 has no memory metrics for container app of pod c (not started yet?)', notInMetrics: true });
  });

  it('forgets a node no audit samples any more: the next read fetches again', async () => {
    const { w, reader } = world();
    await reader.container('n1', key('a'), 60_000);
    await reader.container('n2', key('a'), 60_000);
    reader.retainNodes(new Set(['n2']));
    await reader.container('n1', key('a'), 60_000);
    await reader.container('n2', key('a'), 60_000);
    expect(w.calls).toEqual(['/api/v1/nodes/n1/proxy/metrics/cadvisor', '/api/v1/nodes/n2/proxy/metrics/cadvisor', '/api/v1/nodes/n1/proxy/metrics/cadvisor']);
  });

  it('says gone for a node the API server no longer knows, and keeps nothing of it', async () => {
    const { w, reader } = world();
    await reader.container('n1', key('a'), 500);
    w.nodes.delete('n1');
    w.now += 1000;
    const read = await reader.container('n1', key('a'), 500);
    expect(read.kind).toBe('gone');
    expect(read.kind !== 'data' && read.reason).toMatch(/^kubelet on node n1: GET .*HTTP 404 NotFound/);
    // A failed fetch that is not a NotFound is shared within the max age like a good one; a gone node is not kept at all.
    await reader.container('n1', key('a'), 60_000);
    expect(w.calls.filter((c) => c.startsWith('/api/v1/nodes/n1/'))).toHaveLength(3);
    expect(w.observed).toEqual([true, false, false]);
  });

  it('direct: reads the Node for its address, again after a failed scrape (the address may have changed), and forgets it with the node', async () => {
    const { w, reader } = world('direct');
    expect(await reader.container('n1', key('a'), 0)).toEqual({ kind: 'retry', reason: 'kubelet on node n1: node n1 has no InternalIP address' });
    expect(w.calls).toEqual(['/api/v1/nodes/n1']);
    await reader.container('n1', key('a'), 0);
    expect(w.calls).toEqual(['/api/v1/nodes/n1', '/api/v1/nodes/n1']);
    w.nodes.delete('n2');
    expect((await reader.container('n2', key('a'), 0)).kind).toBe('gone');
  });
});
