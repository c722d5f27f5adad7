import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ControlPlane } from '../../e2e/harness/control-plane.ts';
import { NetNs } from '../../e2e/harness/netns.ts';
import { issue } from '../../e2e/harness/pki.ts';
import { Proc, waitFor } from '../../e2e/harness/process.ts';
import { tool } from '../../e2e/harness/tools.ts';
import { CgroupRoot } from './cgroup-root.ts';
import { buildImages } from './images.ts';
import type { ClusterImage } from './images.ts';
import { ClusterNode, POD_CIDR } from './node.ts';
import { RUN_DIR_PREFIX, exeOf, ownerOfThisProcess, reapStaleRuns, writeRecord } from './stale.ts';
import type { RunRecord } from './stale.ts';

/**
 * A real single-node cluster: etcd and kube-apiserver (the e2e ControlPlane, serving on the host
 * end of the node's veth), kube-controller-manager and kube-scheduler on the host, and one
 * ClusterNode (containerd, runc, kubelet, kube-proxy) in network and mount namespaces of its own,
 * its pod cgroups under this process's memory cgroup. Everything lives in one temp dir, is
 * stopped by pid and removed by stop(); what a killed run left is reaped by the next (stale.ts).
 */
export class RealCluster {
  readonly dir: string;
  readonly netns: NetNs;
  readonly cp: ControlPlane;
  readonly cgroupRoot: CgroupRoot;
  images: ClusterImage[] = [];
  controllerManager?: Proc;
  scheduler?: Proc;
  node?: ClusterNode;
  /** How long each start step took (ms), for the report. */
  readonly timings: Record<string, number> = {};

  private constructor(dir: string, netns: NetNs, cgroupRoot: CgroupRoot) {
    this.dir = dir;
    this.netns = netns;
    this.cgroupRoot = cgroupRoot;
    this.cp = new ControlPlane({ address: netns.hostIp, realNodes: true });
  }

  static async start(): Promise<RealCluster> {
    const reaped = await reapStaleRuns();
    if (reaped.length > 0) console.warn(`test/cluster: reaped what killed runs left: ${reaped.join(', ')}`);
    const dir = await mkdtemp(path.join(os.tmpdir(), RUN_DIR_PREFIX));
    const record: RunRecord = { owner: await ownerOfThisProcess(), dirs: [dir], procs: [] };
    await writeRecord(dir, record);
    let netns: NetNs | undefined;
    let cgroupRoot: CgroupRoot | undefined;
    let cluster: RealCluster | undefined;
    try {
      netns = await NetNs.create();
      record.netns = { name: netns.name, hostIf: netns.hostIf };
      await writeRecord(dir, record);
      cgroupRoot = await CgroupRoot.create();
      record.cgroupRoot = cgroupRoot.record();
      await writeRecord(dir, record);
      cluster = new RealCluster(dir, netns, cgroupRoot);
      const c = cluster;
      // The images build while the control plane starts (both take tens of seconds).
      const [images] = await Promise.all([c.step('images', () => buildImages()), c.step('control plane', () => c.startControlPlane())]);
      await c.record(record);
      c.images = images;
      c.node = await c.step('node', () => ClusterNode.start({ cp: c.cp, netns: netns!, cgroupRoot: cgroupRoot!, dir: path.join(dir, 'node'), onStarted: (n) => { c.node = n; return c.record(record); } }, images));
      await c.record(record);
      await c.step('default service account', () => waitFor('the default ServiceAccount', async () => (await c.cp.get('/api/v1/namespaces/default/serviceaccounts/default')).status === 200, 60_000, 500));
    } catch (e) {
      if (cluster) await cluster.stop();
      else {
        await cgroupRoot?.remove().catch(() => undefined);
        await netns?.remove();
        await rm(dir, { recursive: true, force: true });
      }
      throw e;
    }
    return cluster;
  }

  /** Writes what runs now to run.json, for the reaper of a later run should this one be killed. */
  private async record(record: RunRecord): Promise<void> {
    record.dirs = [this.dir, ...(this.cp.dir ? [this.cp.dir] : [])];
    const procs = [this.cp.etcd, this.cp.apiserver, this.controllerManager, this.scheduler, this.node?.containerd, this.node?.kubelet, this.node?.kubeProxy];
    record.procs = [];
    for (const p of procs) if (p?.pid !== undefined && p.running) record.procs.push({ name: p.name, pid: p.pid, exe: await exeOf(p.pid) });
    if (this.node?.mountNamespace) record.mountNs = this.node.mountNamespace;
    await writeRecord(this.dir, record);
  }

  private async step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    try {
      return await fn();
    } finally {
      this.timings[name] = Date.now() - started;
    }
  }

  private async startControlPlane(): Promise<void> {
    await this.cp.start();
    const pkiDir = path.join(this.dir, 'pki');
    await mkdir(pkiDir, { recursive: true });
    const ca = { dir: pkiDir, caCertFile: this.cp.pki.caCertFile, caKeyFile: this.cp.pki.caKeyFile };
    const kubeconfig = async (name: string, user: string) => {
      const file = path.join(this.dir, `${name}.kubeconfig`);
      await writeFile(file, await this.cp.kubeconfig(user, await issue(ca, name, `/CN=${user}`, 'clientAuth')));
      return file;
    };
    const kcm = await kubeconfig('kube-controller-manager', 'system:kube-controller-manager');
    const sched = await kubeconfig('kube-scheduler', 'system:kube-scheduler');
    const p = this.cp.pki;
    this.controllerManager = new Proc('kube-controller-manager', tool('kube-controller-manager'), [
      `--kubeconfig=${kcm}`,
      `--authentication-kubeconfig=${kcm}`,
      `--authorization-kubeconfig=${kcm}`,
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--leader-elect=false',
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${p.serviceAccountKeyFile}`,
      `--root-ca-file=${p.caCertFile}`,
      `--cluster-signing-cert-file=${p.caCertFile}`,
      `--cluster-signing-key-file=${p.caKeyFile}`,
      `--cluster-cidr=${POD_CIDR}`,
      '--v=1',
    ], path.join(this.dir, 'kube-controller-manager.log'));
    this.scheduler = new Proc('kube-scheduler', tool('kube-scheduler'), [
      `--kubeconfig=${sched}`,
      `--authentication-kubeconfig=${sched}`,
      `--authorization-kubeconfig=${sched}`,
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--leader-elect=false',
      '--v=1',
    ], path.join(this.dir, 'kube-scheduler.log'));
    for (const proc of [this.controllerManager, this.scheduler]) {
      await new Promise((r) => setTimeout(r, 500));
      if (!proc.running) throw new Error(`${proc.name} exited: ${(await proc.log()).slice(-3000)}`);
    }
  }

  /** Stops everything this started, by pid, and removes what it made (unless MEMAUDIT_E2E_KEEP, for the logs). */
  async stop(): Promise<void> {
    await this.node?.stop().catch((e: unknown) => console.error('node stop:', e));
    await this.scheduler?.stop(10_000);
    await this.controllerManager?.stop(10_000);
    await this.cp.stop();
    await this.cgroupRoot.remove().catch((e: unknown) => console.error(e));
    await this.netns.remove();
    if (!process.env.MEMAUDIT_E2E_KEEP) await rm(this.dir, { recursive: true, force: true });
  }
}
