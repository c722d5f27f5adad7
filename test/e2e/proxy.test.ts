import { jest } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { controllerKubeconfig, createNamespace, createNode, createPod, installCrds } from './harness/cluster.ts';
import { ControlPlane } from './harness/control-plane.ts';
import { ControllerProcess } from './harness/controller.ts';
import { Fixture } from './harness/fixture.ts';
import { NetNs } from './harness/netns.ts';
import { Proc, waitFor } from './harness/process.ts';
import { NODE_BIN, REPO_ROOT } from './harness/tools.ts';
import type { MemoryAudit } from '../../src/controller/api/v1alpha1.ts';

// Everything through the API server, as in a cluster where the controller cannot reach nodes
// and pods itself: kubelet /metrics/cadvisor through the node proxy and the heap profile through
// the pods/proxy subresource. The API server refuses to proxy to loopback, so the node's kubelet
// and the Go target live in a network namespace with an address of their own; the kubelet
// requires the API server's kubelet client certificate, as a real one does.
jest.setTimeout(240_000);

const NS = 'shop';
const cp = new ControlPlane();
let netns: NetNs | undefined;
let fx: Fixture | undefined;
let kubelet: Proc | undefined;
let controller: ControllerProcess | undefined;

beforeAll(async () => {
  await cp.start();
  await installCrds(cp);
  netns = await NetNs.create();
  fx = await Fixture.start('heapleak-proxy', 'heapleak', ['-rate', '1048576'], { netns, pprofPort: 6060 });
  await createNamespace(cp, NS);
  const { uid } = await createPod(cp, { namespace: NS, name: 'heapleak-0', labels: { app: 'heapleak' }, nodeName: 'node-ns', podIP: netns.nsIp, containers: [{ name: 'app', ports: [6060] }] });
  const serving = await cp.servingCert('kubelet-node-ns', [`IP:${netns.nsIp}`]);
  const config = path.join(cp.dir, 'kubelet-node-ns.json');
  await writeFile(config, JSON.stringify({ host: netns.nsIp, port: 10250, certFile: serving.certFile, keyFile: serving.keyFile, caFile: cp.pki.caCertFile, containers: [{ namespace: NS, pod: 'heapleak-0', podUid: uid, container: 'app', cgroupDir: fx.cgroup.dir, cgroupVersion: fx.cgroup.version }] }));
  const [file, args] = netns.exec(NODE_BIN, ['--disable-warning=ExperimentalWarning', path.join(REPO_ROOT, 'test/e2e/harness/fake-kubelet-main.ts'), config]);
  kubelet = new Proc('kubelet-node-ns', file, args, path.join(cp.dir, 'kubelet-node-ns.log'));
  await waitFor('fake kubelet in the namespace', async () => {
    if (!kubelet!.running) throw new Error(await kubelet!.log());
    return /fake kubelet on/.test(await kubelet!.log());
  }, 20_000);
  await createNode(cp, 'node-ns', netns.nsIp, 10250);
  // The example as shipped (pprof port 6060), with e2e durations.
  const doc = parse(await readFile(path.join(REPO_ROOT, 'examples/kubernetes/memoryaudit-heapleak.yaml'), 'utf8')) as { spec: Record<string, unknown> };
  Object.assign(doc.spec, { interval: '1s', window: '10m', minDuration: '30s' });
  await cp.kubectlOk(['apply', '-n', NS, '-f', '-'], stringify(doc));
  controller = await ControllerProcess.start({ dir: cp.dir, name: 'controller-proxy', kubeconfig: await controllerKubeconfig(cp, { proxy: true }), args: ['--kubelet-access=proxy', '--pprof-access=proxy', '--no-leader-elect'] });
});

afterAll(async () => {
  await controller?.stop();
  await kubelet?.stop();
  await fx?.stop();
  await netns?.remove();
  await cp.stop();
});

describe('through the API server node and pod proxies', () => {
  it('serves the kubelet metrics and the heap profile through the proxies (as kubectl sees them)', async () => {
    const metrics = await cp.kubectlOk(['get', '--raw', '/api/v1/nodes/node-ns/proxy/metrics/cadvisor']);
    expect(metrics).toMatch(/container_memory_rss\{container="app",.*pod="heapleak-0"\} \S+ \d+/);
    const heap = await cp.kubectlOk(['get', '--raw', `/api/v1/namespaces/${NS}/pods/heapleak-0:6060/proxy/debug/pprof/heap?debug=1`]);
    expect(heap).toMatch(/# runtime\.MemStats/);
  });

  it('reaches Leak/heap with the growing function, sampling only through the proxies', async () => {
    const a = await waitFor('verdict', async () => {
      const x = await cp.json<MemoryAudit>('GET', `/apis/memaudit.io/v1alpha1/namespaces/${NS}/memoryaudits/heapleak`);
      return x.status?.verdict && x.status.verdict !== 'InsufficientData' ? x : undefined;
    }, 120_000, 1000);
    expect(a.status).toMatchObject({ verdict: 'Leak', leakSource: 'heap' });
    expect(a.status!.targets![0]!.topGrowingFunctions![0]!.function).toBe('main.retainRequest');
    expect(a.status!.targets![0]!.node).toBe('node-ns');
    const m = await (await fetch(`http://127.0.0.1:${controller!.port}/metrics`)).text();
    expect(Number(/memaudit_sampling_total\{source="kubelet",result="ok"\} (\d+)/.exec(m)![1])).toBeGreaterThan(20);
    expect(Number(/memaudit_sampling_total\{source="pprof",result="ok"\} (\d+)/.exec(m)![1])).toBeGreaterThan(20);
    expect(m).not.toMatch(/memaudit_sampling_total\{source="kubelet",result="error"\}/);
  });
});
