import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Runs once before the cluster project: fails fast, naming the command to run, when something
 * the real cluster needs is missing (hack/install-deps.sh installs the Debian packages,
 * hack/build-kube-tools.sh the Kubernetes binaries, hack/dockerd.sh runs the Docker daemon the
 * images are built in). Self-contained, as jest loads global setup without the project's module
 * mapping. The paths match test/e2e/harness/tools.ts.
 */
export default function globalSetup(): void {
  const tools = process.env.MEMAUDIT_TOOLS ? path.join(process.env.MEMAUDIT_TOOLS, 'bin') : path.join(os.homedir(), '.cache/memaudit/tools/bin');
  const missing = ['etcd', 'kube-apiserver', 'kubectl', 'helm', 'kubelet', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy'].map((t) => path.join(tools, t)).filter((f) => {
    try {
      accessSync(f, constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) throw new Error(`cluster: missing ${missing.join(', ')}. Build them once (cached outside the checkout): hack/build-kube-tools.sh`);
  if (process.getuid?.() !== 0) throw new Error('cluster: needs root (a kubelet, containerd, cgroups, network and mount namespaces)');
  for (const [cmd, pkg] of [['containerd', 'containerd'], ['ctr', 'containerd'], ['runc', 'runc'], ['/usr/lib/cni/bridge', 'containernetworking-plugins'], ['iptables', 'iptables'], ['nsenter', 'util-linux'], ['unshare', 'util-linux'], ['openssl', 'openssl'], ['ip', 'iproute2'], ['docker', 'docker.io']]) {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`cluster: ${cmd} is missing (hack/install-deps.sh installs ${pkg})`);
    }
  }
  if (!process.env.DOCKER_HOST) throw new Error('cluster: DOCKER_HOST is not set: the images are built in a Docker daemon (hack/dockerd.sh start; export "$(hack/dockerd.sh env)")');
}
