import { readFile } from 'node:fs/promises';
import type { MemoryAudit } from '../../../src/controller/api/v1alpha1.ts';
import { controllerKubeconfig, createNamespace, createNode, createPod, installCrds } from './cluster.ts';
import { ControlPlane } from './control-plane.ts';
import { ControllerProcess } from './controller.ts';
import { FakeKubelet } from './fake-kubelet.ts';
import type { KubeletContainer } from './fake-kubelet.ts';
import { Fixture } from './fixture.ts';
import { waitFor } from './process.ts';

/**
 * One e2e world: a control plane with the CRD and RBAC installed, one node whose kubelet is a
 * FakeKubelet on loopback (HTTPS, cert from the cluster CA) serving the real cgroups of the Go
 * fixtures that stand for the pods' containers, and controller processes running as the
 * memaudit-controller service account. teardown() removes everything it made.
 */
export const NODE = 'node-1';

export interface TargetOptions {
  namespace: string;
  pod: string;
  labels: Record<string, string>;
  app: string;
  args: string[];
  container?: string;
  limitBytes?: number;
  ownerReferences?: Parameters<typeof createPod>[1]['ownerReferences'];
}

export class Scenario {
  readonly cp = new ControlPlane();
  kubelet!: FakeKubelet;
  readonly containers: KubeletContainer[] = [];
  readonly fixtures = new Map<string, Fixture>();
  readonly controllers: ControllerProcess[] = [];
  private saKubeconfig = '';
  private readonly namespaces = new Set<string>();

  static async start(): Promise<Scenario> {
    const s = new Scenario();
    try {
      await s.cp.start();
      await installCrds(s.cp);
      s.saKubeconfig = await controllerKubeconfig(s.cp);
      const serving = await s.cp.servingCert('kubelet-node-1', ['IP:127.0.0.1', 'DNS:node-1']);
      s.kubelet = await new FakeKubelet({ host: '127.0.0.1', tls: { cert: await readFile(serving.certFile), key: await readFile(serving.keyFile) }, containers: () => s.containers }).listen();
      await createNode(s.cp, NODE, '127.0.0.1', s.kubelet.port);
    } catch (e) {
      await s.teardown();
      throw e;
    }
    return s;
  }

  async namespace(ns: string): Promise<void> {
    if (this.namespaces.has(ns)) return;
    await createNamespace(this.cp, ns);
    this.namespaces.add(ns);
  }

  /** A Go fixture in its own cgroup + the Pod object that stands for it, Running on node-1. */
  async addTarget(o: TargetOptions): Promise<Fixture> {
    await this.namespace(o.namespace);
    const fx = await Fixture.start(o.pod, o.app, o.args, o.limitBytes === undefined ? {} : { limitBytes: o.limitBytes });
    this.fixtures.set(`${o.namespace}/${o.pod}`, fx);
    const container = o.container ?? 'app';
    const { uid } = await createPod(this.cp, { namespace: o.namespace, name: o.pod, labels: o.labels, nodeName: NODE, podIP: '127.0.0.1', containers: [{ name: container, ports: [fx.pprofPort] }], ...(o.ownerReferences ? { ownerReferences: o.ownerReferences } : {}) });
    this.containers.push({ namespace: o.namespace, pod: o.pod, podUid: uid, container, cgroupDir: fx.cgroup.dir, cgroupVersion: fx.cgroup.version });
    return fx;
  }

  /** The container disappears from the kubelet and its process stops, as when a pod is deleted. */
  async stopTarget(namespace: string, pod: string): Promise<void> {
    const i = this.containers.findIndex((c) => c.namespace === namespace && c.pod === pod);
    if (i >= 0) this.containers.splice(i, 1);
    const fx = this.fixtures.get(`${namespace}/${pod}`);
    this.fixtures.delete(`${namespace}/${pod}`);
    await fx?.stop();
  }

  async startController(name: string, args: string[] = []): Promise<ControllerProcess> {
    const c = await ControllerProcess.start({
      dir: this.cp.dir,
      name,
      kubeconfig: this.saKubeconfig,
      // Every change written at once (the default waits 5 min for progress alone): the tests watch
      // sample counts grow. status-sync.test.ts checks the default's behaviour.
      args: ['--kubelet-access=direct', `--kubelet-ca-file=${this.cp.pki.caCertFile}`, ...(args.some((a) => a.startsWith('--status-sync-period')) ? [] : ['--status-sync-period=0s']), ...args],
    });
    this.controllers.push(c);
    return c;
  }

  async audit(namespace: string, name: string): Promise<MemoryAudit> {
    return this.cp.json<MemoryAudit>('GET', `/apis/memaudit.io/v1alpha1/namespaces/${namespace}/memoryaudits/${name}`);
  }

  async waitForAudit(namespace: string, name: string, what: string, predicate: (a: MemoryAudit) => boolean, timeoutMs: number): Promise<MemoryAudit> {
    let last: MemoryAudit | undefined;
    try {
      return await waitFor(what, async () => {
        last = await this.audit(namespace, name);
        return predicate(last) ? last : undefined;
      }, timeoutMs, 500);
    } catch (e) {
      throw new Error(`${(e as Error).message}\nlast status: ${JSON.stringify(last?.status, null, 1)?.slice(0, 3000)}`, { cause: e });
    }
  }

  async events(namespace: string): Promise<{ reason: string; type: string; message: string; involvedObject: { name: string } }[]> {
    const list = await this.cp.json<{ items: { reason: string; type: string; message: string; involvedObject: { name: string } }[] }>('GET', `/api/v1/namespaces/${namespace}/events`);
    return list.items;
  }

  async teardown(): Promise<void> {
    for (const c of this.controllers) await c.stop().catch(() => undefined);
    await this.kubelet?.close().catch(() => undefined);
    for (const fx of this.fixtures.values()) await fx.stop().catch(() => undefined);
    this.fixtures.clear();
    await this.cp.stop();
  }
}

/** A MemoryAudit manifest for tests: e2e-sized durations. */
export function auditManifest(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'memaudit.io/v1alpha1', kind: 'MemoryAudit', metadata: { name }, spec: { interval: '1s', window: '10m', minDuration: '30s', ...spec } };
}
