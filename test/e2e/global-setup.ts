import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Runs once before the e2e project: fails fast, with the command to run, when the Kubernetes
 * binaries (or the Prometheus Operator's CRDs) are missing, and builds the Go audit targets (idempotent, seconds when up to date).
 * Self-contained on purpose: jest loads global setup without the project's module mapping, so
 * relative `.ts` imports do not resolve here. The paths match harness/tools.ts.
 */
export default function globalSetup(): void {
  const repo = path.resolve(import.meta.dirname, '../..');
  const tools = process.env.MEMAUDIT_TOOLS ? path.join(process.env.MEMAUDIT_TOOLS, 'bin') : path.join(os.homedir(), '.cache/memaudit/tools/bin');
  const apps = process.env.MEMAUDIT_APPS_BIN ?? path.join(process.env.MEMAUDIT_CACHE ?? path.join(os.homedir(), '.cache/memaudit'), 'apps/bin');
  const missing = ['etcd', 'kube-apiserver', 'kubectl'].map((t) => path.join(tools, t)).filter((f) => {
    try {
      accessSync(f, constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  const crds = path.join(path.dirname(tools), 'crds');
  for (const crd of ['prometheusrules', 'servicemonitors']) {
    const file = path.join(crds, `monitoring.coreos.com_${crd}.yaml`);
    try {
      accessSync(file, constants.R_OK);
    } catch {
      missing.push(file);
    }
  }
  if (missing.length > 0) throw new Error(`e2e: missing ${missing.join(', ')}. Build them once (cached outside the checkout): hack/build-kube-tools.sh`);
  if (process.getuid?.() !== 0) throw new Error('e2e: needs root (child memory cgroups, network namespaces)');
  for (const cmd of ['openssl', 'ip', 'nsenter']) {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`e2e: ${cmd} is missing (apt-get install openssl iproute2 util-linux)`);
    }
  }
  execFileSync(path.join(repo, 'hack/build-apps.sh'), [apps], { stdio: ['ignore', 'ignore', 'inherit'] });
}
