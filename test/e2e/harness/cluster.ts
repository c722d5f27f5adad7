import path from 'node:path';
import type { ControlPlane } from './control-plane.ts';
import { REPO_ROOT } from './tools.ts';

/**
 * Objects a real cluster's other components would create, made by hand because the test cluster
 * has only etcd and kube-apiserver: Nodes (with the address and port of a fake kubelet), Pods
 * bound to them with a Running status and a pod IP (written through the status subresource, as
 * the kubelet does), and workloads with their ReplicaSets.
 */

/** kubectl apply -f crds/, then wait until the API server serves the new resource. */
export async function installCrds(cp: ControlPlane): Promise<void> {
  await cp.kubectlOk(['apply', '-f', path.join(REPO_ROOT, 'crds')]);
  await cp.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', 'crd/memoryaudits.memaudit.io']);
}

export async function createNamespace(cp: ControlPlane, name: string): Promise<void> {
  await cp.json('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

export async function createNode(cp: ControlPlane, name: string, address: string, kubeletPort: number): Promise<void> {
  await cp.json('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } } });
  await setNodeStatus(cp, name, address, kubeletPort);
}

export async function setNodeStatus(cp: ControlPlane, name: string, address: string, kubeletPort: number): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await cp.json('PATCH', `/api/v1/nodes/${name}/status`, {
    status: {
      addresses: [{ type: 'InternalIP', address }, { type: 'Hostname', address: name }],
      daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'fake kubelet of the e2e test', lastHeartbeatTime: now, lastTransitionTime: now }],
    },
  }, 'application/merge-patch+json');
}

export interface PodSpec {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  nodeName: string;
  podIP: string;
  containers: { name: string; ports?: number[]; memoryLimit?: string }[];
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller: boolean }[];
}

export async function createPod(cp: ControlPlane, p: PodSpec): Promise<{ uid: string }> {
  const pod = await cp.json<{ metadata: { uid: string } }>('POST', `/api/v1/namespaces/${p.namespace}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: p.name, namespace: p.namespace, labels: p.labels, ...(p.ownerReferences ? { ownerReferences: p.ownerReferences } : {}) },
    spec: {
      nodeName: p.nodeName,
      containers: p.containers.map((c) => ({
        name: c.name,
        image: `memaudit.local/${c.name}:e2e`,
        ...(c.ports ? { ports: c.ports.map((containerPort) => ({ containerPort, name: 'pprof' })) } : {}),
        ...(c.memoryLimit ? { resources: { limits: { memory: c.memoryLimit } } } : {}),
      })),
    },
  });
  await setPodRunning(cp, p.namespace, p.name, p.podIP, p.containers.map((c) => c.name));
  return { uid: pod.metadata.uid };
}

export async function setPodRunning(cp: ControlPlane, namespace: string, name: string, podIP: string, containers: string[]): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await cp.json('PATCH', `/api/v1/namespaces/${namespace}/pods/${name}/status`, {
    status: {
      phase: 'Running',
      podIP,
      podIPs: [{ ip: podIP }],
      hostIP: podIP,
      startTime: now,
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }],
      containerStatuses: containers.map((c) => ({ name: c, ready: true, restartCount: 0, image: `memaudit.local/${c}:e2e`, imageID: '', containerID: `containerd://${c}0123456789ab`, started: true, state: { running: { startedAt: now } } })),
    },
  }, 'application/merge-patch+json');
}

export async function deletePod(cp: ControlPlane, namespace: string, name: string): Promise<void> {
  await cp.json('DELETE', `/api/v1/namespaces/${namespace}/pods/${name}?gracePeriodSeconds=0`);
}

/** A Deployment and the ReplicaSet a deployment controller would have made for it. */
export async function createDeployment(cp: ControlPlane, namespace: string, name: string, labels: Record<string, string>, containers: { name: string; limit: string; request: string; env?: { name: string; value: string }[] }[]): Promise<{ deploymentUid: string; replicaSet: { name: string; uid: string } }> {
  const template = {
    metadata: { labels },
    spec: { containers: containers.map((c) => ({ name: c.name, image: `memaudit.local/${c.name}:e2e`, resources: { limits: { memory: c.limit, cpu: '500m' }, requests: { memory: c.request, cpu: '100m' } }, ...(c.env ? { env: c.env } : {}) })) },
  };
  const dep = await cp.json<{ metadata: { uid: string } }>('POST', `/apis/apps/v1/namespaces/${namespace}/deployments`, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace, labels }, spec: { replicas: 1, selector: { matchLabels: labels }, template } });
  const rsName = `${name}-5d4f8b7c9`;
  const rs = await cp.json<{ metadata: { uid: string } }>('POST', `/apis/apps/v1/namespaces/${namespace}/replicasets`, {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: rsName, namespace, labels, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid: dep.metadata.uid, controller: true, blockOwnerDeletion: true }] },
    spec: { replicas: 1, selector: { matchLabels: labels }, template },
  });
  return { deploymentUid: dep.metadata.uid, replicaSet: { name: rsName, uid: rs.metadata.uid } };
}

/** A StatefulSet or DaemonSet owning its pods directly (no controller-manager runs here, so the test creates the pod). */
export async function createPodOwner(
  cp: ControlPlane,
  kind: 'StatefulSet' | 'DaemonSet',
  namespace: string,
  name: string,
  labels: Record<string, string>,
  containers: { name: string; limit: string; request: string }[],
): Promise<{ uid: string }> {
  const template = {
    metadata: { labels },
    spec: { containers: containers.map((c) => ({ name: c.name, image: `memaudit.local/${c.name}:e2e`, resources: { limits: { memory: c.limit, cpu: '500m' }, requests: { memory: c.request, cpu: '100m' } } })) },
  };
  const spec = kind === 'StatefulSet' ? { replicas: 1, serviceName: name, selector: { matchLabels: labels }, template } : { selector: { matchLabels: labels }, template };
  const obj = await cp.json<{ metadata: { uid: string } }>('POST', `/apis/apps/v1/namespaces/${namespace}/${kind === 'StatefulSet' ? 'statefulsets' : 'daemonsets'}`, { apiVersion: 'apps/v1', kind, metadata: { name, namespace, labels }, spec });
  return { uid: obj.metadata.uid };
}

/**
 * A service-account kubeconfig bound by config/rbac (and config/rbac-proxy with `proxy`, for
 * --kubelet-access/--pprof-access proxy): the controller runs with exactly those rights.
 */
export async function controllerKubeconfig(cp: ControlPlane, options: { proxy?: boolean } = {}): Promise<string> {
  const ns = await cp.get('/api/v1/namespaces/memaudit-system');
  if (ns.status === 404) await cp.kubectlOk(['apply', '-f', path.join(REPO_ROOT, 'config/manager/namespace.yaml')]);
  await cp.kubectlOk(['apply', '-k', path.join(REPO_ROOT, 'config/rbac')]);
  if (options.proxy) await cp.kubectlOk(['apply', '-k', path.join(REPO_ROOT, 'config/rbac-proxy')]);
  const token = (await cp.kubectlOk(['create', 'token', 'memaudit-controller', '-n', 'memaudit-system', '--duration=6h'])).trim();
  return cp.tokenKubeconfig('memaudit-controller', token);
}
