import os from 'node:os';
import path from 'node:path';

/** Where hack/build-kube-tools.sh and hack/build-apps.sh put their binaries (outside the checkout). */
export const TOOLS_BIN = process.env.MEMAUDIT_TOOLS ? path.join(process.env.MEMAUDIT_TOOLS, 'bin') : path.join(os.homedir(), '.cache/memaudit/tools/bin');
/** hack/test.sh builds the apps into $MEMAUDIT_CACHE/apps/bin. */
export const APPS_BIN = process.env.MEMAUDIT_APPS_BIN ?? path.join(process.env.MEMAUDIT_CACHE ?? path.join(os.homedir(), '.cache/memaudit'), 'apps/bin');
/** The Prometheus Operator's CRDs, from its Go module (hack/build-kube-tools.sh crds). */
export const CRDS_DIR = path.join(path.dirname(TOOLS_BIN), 'crds');
export const REPO_ROOT = path.resolve(import.meta.dirname, '../../..');
export const NODE_BIN = path.join(REPO_ROOT, 'node_modules/.bin/node');

export type ToolName = 'etcd' | 'kube-apiserver' | 'kubectl' | 'helm' | 'kubelet' | 'kube-controller-manager' | 'kube-scheduler' | 'kube-proxy';
export const tool = (name: ToolName): string => path.join(TOOLS_BIN, name);
export const app = (name: string): string => path.join(APPS_BIN, name);

