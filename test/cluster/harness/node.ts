import { mkdir, readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { mustRun, run } from '../../e2e/harness/exec.ts';
import type { ControlPlane } from '../../e2e/harness/control-plane.ts';
import type { NetNs } from '../../e2e/harness/netns.ts';
import { issue } from '../../e2e/harness/pki.ts';
import type { CertPair } from '../../e2e/harness/pki.ts';
import { Proc, waitFor } from '../../e2e/harness/process.ts';
import { tool } from '../../e2e/harness/tools.ts';
import type { CgroupRoot } from './cgroup-root.ts';
import type { ClusterImage } from './images.ts';
import { PAUSE_IMAGE } from './images.ts';

/**
 * One real node: containerd 1.6 (Debian, CRI plugin built in) with runc and the Debian CNI
 * plugins, the kubelet and kube-proxy, all in
 *   - the network namespace `netns` (a veth to the host; pods hang off a CNI bridge inside it, so
 *     nothing is added to the host's network), and
 *   - a mount namespace of their own (`unshare --mount --propagation private`, entered by the
 *     kubelet and kube-proxy with nsenter), in which /var/lib and /var/log are this node's
 *     directories under `dir` and /run is a fresh tmpfs. So the paths a node hard-codes
 *     (/run/containerd/containerd.sock, which the kubelet's cAdvisor dials to name containers;
 *     /var/log/containers; /var/run/netns for pod sandboxes; /var/lib/cni) are the node's own, and
 *     every mount made for pods (rootfs overlays, service-account tmpfs, netns binds) vanishes
 *     with the namespace.
 * The kubelet sets six kernel tunables (vm.overcommit_memory=1, kernel.panic=10,
 * kernel.panic_on_oops=1, ...) when they differ, and refuses to start when it cannot: those are
 * global, not per namespace. Inside the node's mount namespace, the ones that differ on the host
 * are files holding the value the kubelet wants, bind-mounted over /proc/sys, so the host's
 * settings are left alone.
 *
 * Pod cgroups go under `cgroupRoot` (the kubelet's cgroupRoot, cgroupfs driver).
 */
export const NODE_NAME = 'memaudit-node';
export const POD_CIDR = '10.244.0.0/24';
export const CONTAINERD_SOCKET = '/run/containerd/containerd.sock';

const KUBELET_TUNABLES: Record<string, string> = {
  'vm/overcommit_memory': '1',
  'vm/panic_on_oom': '0',
  'kernel/panic': '10',
  'kernel/panic_on_oops': '1',
  'kernel/keys/root_maxkeys': '1000000',
  'kernel/keys/root_maxbytes': '25000000',
};

/** Sets up the node's mount namespace, then becomes containerd. $1: the node dir; $2..: bind FILE TUNABLE pairs. */
const NODE_MOUNTS = `set -e
d="$1"; shift
mount --bind "$d/var-lib" /var/lib
mount --bind "$d/var-log" /var/log
mount -t tmpfs -o mode=0755,size=256m memaudit-node-run /run
mkdir -p /run/netns /run/lock
while [ $# -gt 0 ]; do mount --bind "$1" "/proc/sys/$2"; shift 2; done
exec containerd --config "$d/containerd.toml"
`;

export interface NodeOptions {
  cp: ControlPlane;
  netns: NetNs;
  cgroupRoot: CgroupRoot;
  dir: string;
  /** Called after each process starts (the cluster records it for stale.ts). */
  onStarted?: (node: ClusterNode) => Promise<void>;
}

export class ClusterNode {
  readonly name = NODE_NAME;
  readonly dir: string;
  readonly ip: string;
  readonly netns: NetNs;
  readonly cgroupRoot: CgroupRoot;
  containerd?: Proc;
  kubelet?: Proc;
  kubeProxy?: Proc;
  /** The kubelet's serving cert (signed by the cluster CA, IP SAN = the node IP). */
  serving!: CertPair;
  private mountNs = '';

  private constructor(o: NodeOptions) {
    this.dir = o.dir;
    this.ip = o.netns.nsIp;
    this.netns = o.netns;
    this.cgroupRoot = o.cgroupRoot;
  }

  /** The node's mount namespace ("mnt:[inode]"), once containerd runs. */
  get mountNamespace(): string {
    return this.mountNs;
  }

  /** containerd's socket as the host reaches it: through the process's view of its mount namespace. */
  get containerdAddress(): string {
    return `/proc/${this.containerd!.pid}/root${CONTAINERD_SOCKET}`;
  }

  private inNode(): string[] {
    return [`--net=/var/run/netns/${this.netns.name}`, `--mount=/proc/${this.containerd!.pid}/ns/mnt`, '--'];
  }

  static async start(o: NodeOptions, images: ClusterImage[]): Promise<ClusterNode> {
    const node = new ClusterNode(o);
    const started = o.onStarted ?? (async () => undefined);
    try {
      await node.startContainerd();
      await started(node);
      await node.importImages(images);
      await node.startKubelet(o.cp);
      await started(node);
      await node.startKubeProxy(o.cp);
    } catch (e) {
      await node.stop();
      throw e;
    }
    return node;
  }

  private async startContainerd(): Promise<void> {
    const d = this.dir;
    for (const sub of ['var-lib', 'var-log', 'cni/net.d', 'sysctl', 'pki']) await mkdir(path.join(d, sub), { recursive: true });
    await writeFile(path.join(d, 'containerd.toml'), containerdConfig(d));
    await writeFile(path.join(d, 'cni/net.d/10-memaudit.conflist'), JSON.stringify(cniConfig(), null, 2));
    const binds: string[] = [];
    for (const [key, want] of Object.entries(KUBELET_TUNABLES)) {
      const have = (await readFile(path.join('/proc/sys', key), 'utf8')).trim();
      if (have === want) continue;
      const file = path.join(d, 'sysctl', key.replace(/\//g, '.'));
      await writeFile(file, `${want}\n`);
      binds.push(file, key);
    }
    this.containerd = new Proc('containerd', 'nsenter', [`--net=/var/run/netns/${this.netns.name}`, '--', 'unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', NODE_MOUNTS, 'node-mounts', d, ...binds], path.join(d, 'containerd.log'));
    await waitFor('containerd', async () => {
      if (!this.containerd!.running) throw new Error(`containerd exited: ${(await this.containerd!.log()).slice(-3000)}`);
      return (await run('ctr', ['--address', this.containerdAddress, 'version'], { timeoutMs: 5000 })).code === 0;
    }, 30_000, 250);
    this.mountNs = await readlink(`/proc/${this.containerd.pid}/ns/mnt`);
  }

  /** `docker save` archives into containerd's k8s.io namespace (what the CRI plugin serves), under the manifests' names. */
  async importImages(images: ClusterImage[]): Promise<void> {
    const ctr = (args: string[]) => mustRun('ctr', ['--address', this.containerdAddress, '-n', 'k8s.io', ...args], { timeoutMs: 300_000 });
    for (const image of images) {
      await ctr(['images', 'import', image.archive]);
      const imported = normalizedRef(image.docker);
      if (imported !== normalizedRef(image.cluster)) await ctr(['images', 'tag', '--force', imported, normalizedRef(image.cluster)]);
    }
  }

  private async startKubelet(cp: ControlPlane): Promise<void> {
    const d = this.dir;
    const pki = { dir: path.join(d, 'pki'), caCertFile: cp.pki.caCertFile, caKeyFile: cp.pki.caKeyFile };
    this.serving = await issue(pki, 'kubelet-serving', `/CN=${this.name}`, 'serverAuth', [`IP:${this.ip}`, `DNS:${this.name}`]);
    const client = await issue(pki, 'kubelet-client', `/CN=system:node:${this.name}/O=system:nodes`, 'clientAuth');
    await writeFile(path.join(d, 'kubelet.kubeconfig'), await cp.kubeconfig(`system:node:${this.name}`, client));
    await writeFile(path.join(d, 'kubelet.yaml'), kubeletConfig(this, cp.pki.caCertFile));
    this.kubelet = new Proc('kubelet', 'nsenter', [
      ...this.inNode(),
      tool('kubelet'),
      `--config=${path.join(d, 'kubelet.yaml')}`,
      `--kubeconfig=${path.join(d, 'kubelet.kubeconfig')}`,
      `--hostname-override=${this.name}`,
      `--node-ip=${this.ip}`,
      '--v=2',
    ], path.join(d, 'kubelet.log'));
    await waitFor(`node ${this.name} Ready`, async () => {
      if (!this.kubelet!.running) throw new Error(`kubelet exited: ${(await this.kubelet!.log()).slice(-4000)}`);
      const r = await cp.get(`/api/v1/nodes/${this.name}`);
      if (r.status !== 200) return false;
      const node = JSON.parse(r.body) as { status?: { conditions?: { type: string; status: string }[] } };
      return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    }, 120_000, 500);
  }

  private async startKubeProxy(cp: ControlPlane): Promise<void> {
    const d = this.dir;
    const client = await issue({ dir: path.join(d, 'pki'), caCertFile: cp.pki.caCertFile, caKeyFile: cp.pki.caKeyFile }, 'kube-proxy', '/CN=system:kube-proxy', 'clientAuth');
    await writeFile(path.join(d, 'kube-proxy.kubeconfig'), await cp.kubeconfig('system:kube-proxy', client));
    await writeFile(path.join(d, 'kube-proxy.yaml'), kubeProxyConfig(this, path.join(d, 'kube-proxy.kubeconfig')));
    this.kubeProxy = new Proc('kube-proxy', 'nsenter', [...this.inNode(), tool('kube-proxy'), `--config=${path.join(d, 'kube-proxy.yaml')}`, '--v=1'], path.join(d, 'kube-proxy.log'));
    await waitFor('kube-proxy /healthz', async () => {
      if (!this.kubeProxy!.running) throw new Error(`kube-proxy exited: ${(await this.kubeProxy!.log()).slice(-3000)}`);
      return (await fetch(`http://${this.ip}:10256/healthz`)).ok;
    }, 60_000, 500);
  }

  /** Processes in the node's mount namespace: containerd, the kubelet, kube-proxy, the shims. */
  async namespacePids(): Promise<number[]> {
    return mountNamespacePids(this.mountNs);
  }

  /**
   * Stops the node without draining it: the kubelet and kube-proxy, then every pod process (by
   * pid, from the node's cgroups), then containerd and what is left in its mount namespace (the
   * runc shims); the namespace and its mounts go with the last of them.
   */
  async stop(): Promise<void> {
    await this.kubelet?.stop(15_000);
    await this.kubeProxy?.stop(10_000);
    const kill = (pids: number[]) => {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
    };
    kill(await this.cgroupRoot.pids());
    await waitFor('pod processes to exit', async () => (await this.cgroupRoot.pids()).length === 0, 30_000).catch(() => undefined);
    await this.containerd?.stop(10_000);
    for (let i = 0; i < 100; i++) {
      const left = await this.namespacePids();
      if (left.length === 0) break;
      kill(left);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The pids whose mount namespace is `mountNs` ("mnt:[inode]"). */
export async function mountNamespacePids(mountNs: string): Promise<number[]> {
  if (!mountNs) return [];
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ns = await readlink(`/proc/${entry}/ns/mnt`).catch(() => '');
    if (ns === mountNs) out.push(Number(entry));
  }
  return out;
}

/** containerd and the CRI plugin name images by their normalized reference. */
export function normalizedRef(ref: string): string {
  const [first, ...rest] = ref.split('/');
  const hasDomain = rest.length > 0 && (first!.includes('.') || first!.includes(':') || first === 'localhost');
  const named = hasDomain ? ref : `docker.io/${rest.length === 0 ? `library/${ref}` : ref}`;
  return /:[^/]+$/.test(named) || named.includes('@') ? named : `${named}:latest`;
}

function containerdConfig(d: string): string {
  return `# containerd for the test/cluster node (containerd 1.6, config version 2). State and socket
# at their defaults (/run/containerd, /var/lib/containerd), which are the node's own inside its
# mount namespace.
version = 2
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[plugins."io.containerd.internal.v1.opt"]
  path = "${d}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  # These machines withhold CAP_SYS_RESOURCE, so no process may lower its oom_score_adj: runc
  # fails ("failed to update /proc/self/oom_score_adj: Permission denied") on the -998 the kubelet
  # asks for sandboxes (-997 for Guaranteed pods). This clamps them to containerd's own score.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${d}/cni/net.d"
`;
}

/** A bridge in the node's network namespace; pods get 10.244.0.x and reach the host end of the node's veth through masquerade. */
function cniConfig(): Record<string, unknown> {
  return {
    cniVersion: '0.4.0',
    name: 'memaudit-cluster',
    plugins: [
      {
        type: 'bridge',
        bridge: 'cni0',
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: POD_CIDR }]], routes: [{ dst: '0.0.0.0/0' }] },
      },
    ],
  };
}

function kubeletConfig(node: ClusterNode, caFile: string): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# cgroup v1 (the memory controller of these machines): the kubelet 1.35 refuses it unless told.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: ${node.cgroupRoot.path}
address: ${node.ip}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: ${node.serving.certFile}
tlsPrivateKeyFile: ${node.serving.keyFile}
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true, cacheTTL: 10s}
  x509: {clientCAFile: ${caFile}}
# Requests are authorized by the API server (SubjectAccessReview): /metrics/* is nodes/metrics,
# /exec, /run, /pods and the rest are nodes/proxy.
authorization:
  mode: Webhook
  webhook: {cacheAuthorizedTTL: 10s, cacheUnauthorizedTTL: 5s}
containerRuntimeEndpoint: unix://${CONTAINERD_SOCKET}
resolvConf: /etc/resolv.conf
maxPods: 40
serializeImagePulls: false
# The machine's disk and memory are shared: evict only when nearly nothing is left, and never
# collect the images imported for the tests (no registry to pull them again).
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, nodefs.inodesFree: 1%, imagefs.available: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
# A container OOM-killed again and again is restarted at most every 20 s (default up to 300 s).
crashLoopBackOff: {maxContainerRestartPeriod: 20s}
failSwapOn: false
`;
}

function kubeProxyConfig(node: ClusterNode, kubeconfig: string): string {
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: ${kubeconfig}}
hostnameOverride: ${node.name}
mode: iptables
clusterCIDR: ${POD_CIDR}
healthzBindAddress: ${node.ip}:10256
metricsBindAddress: 127.0.0.1:10249
# Leave the kernel's conntrack table size and timeouts alone (global, or not ours to tune).
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
`;
}
