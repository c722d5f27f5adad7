import https from 'node:https';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { run } from './exec.ts';
import type { ExecResult } from './exec.ts';
import { createPki, issue } from './pki.ts';
import type { CertPair, Pki } from './pki.ts';
import { freePort } from './ports.ts';
import { Proc, waitFor } from './process.ts';
import { tool } from './tools.ts';

export const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/24';

/**
 * etcd + kube-apiserver, started the way controller-runtime's envtest starts them: loopback
 * only, random ports, client-certificate authentication, RBAC authorization, service-account
 * keys, everything in one temp dir removed on stop. The API server can be restarted on the same
 * port and etcd (the data survives).
 *
 * With `realNodes` (test/cluster/: a real kubelet, controller-manager, scheduler and kube-proxy
 * join), the API server serves on `address` (the host end of the node's veth, so the node's
 * network namespace reaches it), authorizes kubelets with the Node authorizer and NodeRestriction,
 * admits pods with their service account, and keeps the `kubernetes` Service's endpoints (what
 * in-cluster clients dial) with the lease reconciler.
 */
export interface ControlPlaneOptions {
  /** The address the API server binds to and advertises (default 127.0.0.1). */
  address?: string;
  realNodes?: boolean;
}

export class ControlPlane {
  readonly address: string;
  readonly realNodes: boolean;
  dir = '';
  pki!: Pki;
  etcd?: Proc;
  apiserver?: Proc;
  etcdClientPort = 0;
  etcdPeerPort = 0;
  securePort = 0;
  /** An admin (system:masters) kubeconfig. */
  kubeconfigPath = '';
  private apiserverStarts = 0;

  constructor(options: ControlPlaneOptions = {}) {
    this.address = options.address ?? '127.0.0.1';
    this.realNodes = options.realNodes ?? false;
  }

  get server(): string {
    return `https://${this.address}:${this.securePort}`;
  }

  async start(): Promise<void> {
    this.dir = await mkdtemp(path.join(os.tmpdir(), 'memaudit-e2e-cp-'));
    await mkdir(path.join(this.dir, 'pki'));
    this.pki = await createPki(path.join(this.dir, 'pki'), this.address === '127.0.0.1' ? [] : [`IP:${this.address}`]);
    [this.etcdClientPort, this.etcdPeerPort, this.securePort] = await Promise.all([freePort(), freePort(), freePort(this.address)]);
    this.kubeconfigPath = path.join(this.dir, 'admin.kubeconfig');
    await writeFile(this.kubeconfigPath, await this.kubeconfig('admin', this.pki.admin));
    await this.startEtcd();
    await this.startApiServer();
  }

  private async startEtcd(): Promise<void> {
    const client = `http://127.0.0.1:${this.etcdClientPort}`;
    const peer = `http://127.0.0.1:${this.etcdPeerPort}`;
    this.etcd = new Proc('etcd', tool('etcd'), [
      '--name=default',
      `--data-dir=${path.join(this.dir, 'etcd')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=default=${peer}`,
      '--unsafe-no-fsync=true',
      '--quota-backend-bytes=1073741824',
      '--log-level=warn',
    ], path.join(this.dir, 'etcd.log'));
    await waitFor('etcd /health', async () => {
      if (!this.etcd!.running) throw new Error(`etcd exited: ${(await this.etcd!.log()).slice(-2000)}`);
      const res = await fetch(`${client}/health`);
      return res.ok;
    }, 30_000);
  }

  async startApiServer(): Promise<void> {
    this.apiserverStarts++;
    const p = this.pki;
    this.apiserver = new Proc('kube-apiserver', tool('kube-apiserver'), [
      `--etcd-servers=http://127.0.0.1:${this.etcdClientPort}`,
      `--cert-dir=${path.join(this.dir, 'apiserver-certs')}`,
      `--bind-address=${this.address}`,
      `--advertise-address=${this.address}`,
      `--secure-port=${this.securePort}`,
      `--tls-cert-file=${p.apiserver.certFile}`,
      `--tls-private-key-file=${p.apiserver.keyFile}`,
      `--client-ca-file=${p.caCertFile}`,
      ...(this.realNodes
        ? ['--authorization-mode=Node,RBAC', '--enable-admission-plugins=NodeRestriction']
        : ['--authorization-mode=RBAC', '--disable-admission-plugins=ServiceAccount']),
      `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
      '--allow-privileged=true',
      `--service-account-issuer=${this.server}`,
      `--service-account-key-file=${p.serviceAccountPubFile}`,
      `--service-account-signing-key-file=${p.serviceAccountKeyFile}`,
      `--kubelet-client-certificate=${p.kubeletClient.certFile}`,
      `--kubelet-client-key=${p.kubeletClient.keyFile}`,
      `--kubelet-certificate-authority=${p.caCertFile}`,
      '--kubelet-preferred-address-types=InternalIP',
      `--endpoint-reconciler-type=${this.realNodes ? 'lease' : 'none'}`,
      '--v=1',
    ], path.join(this.dir, `apiserver-${this.apiserverStarts}.log`));
    await waitFor('kube-apiserver /readyz', async () => {
      if (!this.apiserver!.running) throw new Error(`kube-apiserver exited: ${(await this.apiserver!.log()).slice(-3000)}`);
      const r = await this.get('/readyz');
      return r.status === 200;
    }, 90_000, 250);
  }

  async stopApiServer(): Promise<void> {
    await this.apiserver?.stop(15_000);
  }

  async restartApiServer(downMs = 0): Promise<void> {
    await this.stopApiServer();
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.startApiServer();
  }

  async stop(): Promise<void> {
    await this.apiserver?.stop(15_000);
    await this.etcd?.stop(10_000);
    if (this.dir && !process.env.MEMAUDIT_E2E_KEEP) await rm(this.dir, { recursive: true, force: true });
  }

  /** A kubeconfig for a client-certificate user (CN = user name, O = groups). */
  async kubeconfig(user: string, pair: CertPair): Promise<string> {
    const b64 = async (f: string) => (await readFile(f)).toString('base64');
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: e2e',
      '  cluster:',
      `    server: ${this.server}`,
      `    certificate-authority-data: ${await b64(this.pki.caCertFile)}`,
      'users:',
      `- name: ${user}`,
      '  user:',
      `    client-certificate-data: ${await b64(pair.certFile)}`,
      `    client-key-data: ${await b64(pair.keyFile)}`,
      'contexts:',
      '- name: e2e',
      '  context:',
      '    cluster: e2e',
      `    user: ${user}`,
      'current-context: e2e',
      '',
    ].join('\n');
  }

  /** A kubeconfig authenticating with a bearer token (e.g. a service account's). */
  async tokenKubeconfig(user: string, token: string): Promise<string> {
    const ca = (await readFile(this.pki.caCertFile)).toString('base64');
    return `apiVersion: v1\nkind: Config\nclusters:\n- name: e2e\n  cluster:\n    server: ${this.server}\n    certificate-authority-data: ${ca}\nusers:\n- name: ${user}\n  user:\n    token: ${token}\ncontexts:\n- name: e2e\n  context:\n    cluster: e2e\n    user: ${user}\ncurrent-context: e2e\n`;
  }

  /** Issues a serving cert signed by the cluster CA (for fake kubelets the API server verifies). */
  async servingCert(name: string, sans: string[]): Promise<CertPair> {
    return issue(this.pki, name, `/CN=${name}`, 'serverAuth', sans);
  }

  async kubectl(args: string[], input?: string): Promise<ExecResult> {
    return run(tool('kubectl'), [`--kubeconfig=${this.kubeconfigPath}`, ...args], input === undefined ? {} : { input });
  }

  /** kubectl that throws on failure and returns stdout. */
  async kubectlOk(args: string[], input?: string): Promise<string> {
    const r = await this.kubectl(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** A raw admin request, for readiness and assertions (JSON in, text out). */
  async request(method: string, apiPath: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: string }> {
    const [ca, cert, key] = await Promise.all([readFile(this.pki.caCertFile), readFile(this.pki.admin.certFile), readFile(this.pki.admin.keyFile)]);
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        { host: this.address, port: this.securePort, path: apiPath, method, ca, cert, key, timeout: 10_000, headers: payload === undefined ? {} : { 'content-type': contentType } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${apiPath}: timeout`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  async get(apiPath: string): Promise<{ status: number; body: string }> {
    return this.request('GET', apiPath);
  }

  async json<T = Record<string, unknown>>(method: string, apiPath: string, body?: unknown, contentType?: string): Promise<T> {
    const r = await this.request(method, apiPath, body, contentType);
    if (r.status >= 300) throw new Error(`${method} ${apiPath}: HTTP ${r.status}: ${r.body.slice(0, 500)}`);
    return JSON.parse(r.body) as T;
  }
}
