import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { mustRun } from './exec.ts';

/**
 * The certificates a control plane needs, made with the openssl CLI the way envtest makes them:
 * one CA that signs the API server's serving cert, the client certs (admin, the API server's
 * kubelet client) and the fake kubelets' serving certs; plus a service-account signing key.
 */
export interface CertPair {
  certFile: string;
  keyFile: string;
}

export interface Pki {
  dir: string;
  caCertFile: string;
  caKeyFile: string;
  apiserver: CertPair;
  admin: CertPair;
  kubeletClient: CertPair;
  serviceAccountKeyFile: string;
  serviceAccountPubFile: string;
}

const DAYS = '2';

async function ecKey(file: string): Promise<void> {
  await mustRun('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
}

/** Issues a cert signed by the CA. `subject` like "/CN=admin/O=system:masters". */
export async function issue(pki: Pick<Pki, 'dir' | 'caCertFile' | 'caKeyFile'>, name: string, subject: string, usage: 'serverAuth' | 'clientAuth', sans: string[] = []): Promise<CertPair> {
  const keyFile = path.join(pki.dir, `${name}.key`);
  const csrFile = path.join(pki.dir, `${name}.csr`);
  const certFile = path.join(pki.dir, `${name}.crt`);
  const extFile = path.join(pki.dir, `${name}.ext`);
  await ecKey(keyFile);
  await mustRun('openssl', ['req', '-new', '-key', keyFile, '-out', csrFile, '-subj', subject]);
  const ext = ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', `extendedKeyUsage=${usage}`];
  if (sans.length > 0) ext.push(`subjectAltName=${sans.join(',')}`);
  await writeFile(extFile, ext.join('\n') + '\n');
  // A random serial of its own: -CAcreateserial shares one serial file, which certificates issued
  // at once (createPki) read and write at the same time ("Unable to load number from ca.srl").
  const serial = randomBytes(16);
  serial[0]! &= 0x7f; // positive
  await mustRun('openssl', ['x509', '-req', '-in', csrFile, '-CA', pki.caCertFile, '-CAkey', pki.caKeyFile, '-set_serial', `0x${serial.toString('hex')}`, '-out', certFile, '-days', DAYS, '-extfile', extFile]);
  return { certFile, keyFile };
}

/** `apiserverSans`: more subject alternative names of the API server's serving cert (e.g. IP:10.213.7.1). */
export async function createPki(dir: string, apiserverSans: string[] = []): Promise<Pki> {
  const caKeyFile = path.join(dir, 'ca.key');
  const caCertFile = path.join(dir, 'ca.crt');
  await ecKey(caKeyFile);
  await mustRun('openssl', ['req', '-x509', '-new', '-key', caKeyFile, '-out', caCertFile, '-days', DAYS, '-subj', '/CN=memaudit-e2e-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']);
  const ca = { dir, caCertFile, caKeyFile };
  const [apiserver, admin, kubeletClient] = await Promise.all([
    issue(ca, 'apiserver', '/CN=kube-apiserver', 'serverAuth', ['IP:127.0.0.1', 'DNS:localhost', 'IP:10.0.0.1', 'DNS:kubernetes.default.svc', ...apiserverSans]),
    issue(ca, 'admin', '/CN=admin/O=system:masters', 'clientAuth'),
    issue(ca, 'kubelet-client', '/CN=kube-apiserver-kubelet-client/O=system:masters', 'clientAuth'),
  ]);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const serviceAccountKeyFile = path.join(dir, 'sa.key');
  const serviceAccountPubFile = path.join(dir, 'sa.pub');
  await writeFile(serviceAccountKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await writeFile(serviceAccountPubFile, publicKey.export({ type: 'spki', format: 'pem' }));
  return { ...ca, apiserver, admin, kubeletClient, serviceAccountKeyFile, serviceAccountPubFile };
}
