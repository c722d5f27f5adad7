import https from 'node:https';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Proc, waitFor } from '../../e2e/harness/process.ts';
import { tool } from '../../e2e/harness/tools.ts';
import { helm } from '../../unit/chart/helm.ts';
import type { RealCluster } from './cluster.ts';

/** What the tests read of Kubernetes objects. */
export interface PodJson {
  metadata: { name: string; namespace: string; uid: string; labels?: Record<string, string>; ownerReferences?: { kind: string; name: string }[] };
  spec: { serviceAccountName?: string; nodeName?: string; containers: { name: string; image: string; resources?: { limits?: Record<string, string>; requests?: Record<string, string> } }[] };
  status: {
    phase?: string;
    qosClass?: 'Guaranteed' | 'Burstable' | 'BestEffort';
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; ready: boolean; restartCount: number; containerID?: string; lastState?: { terminated?: { reason?: string; exitCode?: number } } }[];
  };
}

/** kubectl as the cluster admin; throws with stderr on failure. */
export const kubectl = (c: RealCluster, args: string[], input?: string): Promise<string> => c.cp.kubectlOk(args, input);

export async function getJson<T>(c: RealCluster, args: string[]): Promise<T> {
  return JSON.parse(await kubectl(c, ['get', ...args, '-o', 'json'])) as T;
}

export async function pods(c: RealCluster, namespace: string, selector: string): Promise<PodJson[]> {
  return (await getJson<{ items: PodJson[] }>(c, ['pods', '-n', namespace, '-l', selector])).items;
}

/** helm against the cluster, its cache and config dirs in the cluster's temp dir. */
export async function helmCli(c: RealCluster, args: string[], values?: Record<string, unknown>): Promise<string> {
  const r = await helm([...args, `--kubeconfig=${c.cp.kubeconfigPath}`, ...(values ? ['-f', '-'] : [])], { home: path.join(c.dir, 'helm'), timeoutMs: 300_000, ...(values ? { input: JSON.stringify(values) } : {}) });
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** A GET (or POST) to the node's kubelet, as the holder of `token` would send it. */
export async function kubeletRequest(c: RealCluster, apiPath: string, token: string, method = 'GET'): Promise<{ status: number; body: string }> {
  const ca = await readFile(c.cp.pki.caCertFile);
  return new Promise((resolve, reject) => {
    const req = https.request({ host: c.node!.ip, port: 10250, path: apiPath, method, ca, headers: { authorization: `Bearer ${token}` }, timeout: 15_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${apiPath}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

/** The real memory cgroup of a running container: <cgroup root>/kubepods[/<qos>]/pod<uid>/<container id>. */
export function containerCgroupDir(c: RealCluster, pod: PodJson, container: string): string {
  const id = pod.status.containerStatuses?.find((s) => s.name === container)?.containerID?.replace(/^containerd:\/\//, '');
  if (!id) throw new Error(`${pod.metadata.name}/${container} has no container ID yet`);
  const qos = pod.status.qosClass === 'Guaranteed' ? [] : [pod.status.qosClass === 'BestEffort' ? 'besteffort' : 'burstable'];
  return c.cgroupRoot.memoryDir('kubepods', ...qos, `pod${pod.metadata.uid}`, id);
}

/** Samples of one metric for a container from a /metrics/cadvisor text, keyed by pod. */
export function cadvisorValues(text: string, metric: string, namespace: string, container: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const labels = line.slice(metric.length + 1, line.lastIndexOf('}'));
    const get = (k: string) => new RegExp(`(?:^|,)${k}="([^"]*)"`).exec(labels)?.[1];
    if (get('namespace') !== namespace || get('container') !== container) continue;
    const value = Number(line.slice(line.lastIndexOf('}') + 1).trim().split(/\s+/)[0]);
    out.set(get('pod')!, value);
  }
  return out;
}

/** Waits for a Deployment's rollout to finish (every replica updated, available, nothing old left). */
export async function rolledOut(c: RealCluster, namespace: string, name: string, timeoutMs: number): Promise<void> {
  await waitFor(`deployment ${namespace}/${name} rolled out`, async () => {
    const d = await getJson<{ metadata: { generation: number }; spec: { replicas: number }; status: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number } }>(c, ['deployment', name, '-n', namespace]);
    const s = d.status;
    return s.observedGeneration === d.metadata.generation && s.updatedReplicas === d.spec.replicas && s.availableReplicas === d.spec.replicas && s.replicas === d.spec.replicas;
  }, timeoutMs, 1000);
}

/**
 * `kubectl port-forward` to a pod (the kubelet and containerd carry the bytes into the pod's
 * network namespace), for `fn`'s duration: the test reaches pod ports the host has no route to.
 */
export async function withPortForward<T>(c: RealCluster, namespace: string, pod: string, port: number, fn: (localPort: number) => Promise<T>): Promise<T> {
  const proc = new Proc(`port-forward-${pod}`, tool('kubectl'), [`--kubeconfig=${c.cp.kubeconfigPath}`, 'port-forward', '-n', namespace, `pod/${pod}`, `:${port}`], path.join(c.dir, `port-forward-${pod}.log`));
  try {
    const local = await waitFor(`port-forward to ${namespace}/${pod}:${port}`, async () => {
      const log = await proc.log();
      if (!proc.running) throw new Error(`kubectl port-forward exited: ${log}`);
      const m = /Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(log);
      return m ? Number(m[1]) : undefined;
    }, 30_000, 200);
    return await fn(local);
  } finally {
    await proc.stop(5000);
  }
}
