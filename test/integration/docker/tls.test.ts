import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { issue } from '../../e2e/harness/pki.ts';
import { mustRun } from '../../e2e/harness/exec.ts';
import { REPO } from '../local/helpers.ts';
import { freePort, memaudit, removeTestContainers, report, runContainer, startDockerd } from './helpers.ts';

// `memaudit docker` reaching a Docker daemon over TCP with TLS, as DOCKER_HOST, DOCKER_TLS_VERIFY=1
// and DOCKER_CERT_PATH tell the docker CLI (docker-modem reads them: src/docker/endpoint.ts).
//
// A second private daemon beside the shared one (hack/dockerd.sh with a state dir, cgroup parent and
// loopback port of its own, --tlsverify with certificates made here by openssl: a CA, the daemon's
// certificate for 127.0.0.1, a client certificate; and a second CA that signed neither). The test
// image is imported into it by hack/docker-images.sh (docker import, no registry). The shared
// daemon only runs startDockerd's idempotent start (it builds the Go targets' binaries) and is never
// stopped here; this daemon is stopped by its pidfile and its state removed.

const run = promisify(execFile);
const DOCKERD = path.join(REPO, 'hack', 'dockerd.sh');

let dir = '';
let state = '';
let tcp = '';
let docker: Docker | undefined;
let daemonEnv: NodeJS.ProcessEnv = {};
const certs = { good: '', wrongCa: '', foreignClient: '', caOnly: '' };

async function ca(d: string, name: string): Promise<{ dir: string; caCertFile: string; caKeyFile: string }> {
  await mkdir(d, { recursive: true });
  const caKeyFile = path.join(d, `${name}-ca.key`);
  const caCertFile = path.join(d, `${name}-ca.pem`);
  await mustRun('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', caKeyFile]);
  await mustRun('openssl', ['req', '-x509', '-new', '-key', caKeyFile, '-out', caCertFile, '-days', '2', '-subj', `/CN=memaudit-test-${name}-ca`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']);
  return { dir: d, caCertFile, caKeyFile };
}

/** A DOCKER_CERT_PATH: ca.pem (whom to trust), cert.pem and key.pem (who memaudit is). */
async function certPath(d: string, caFile: string, client?: { certFile: string; keyFile: string }): Promise<string> {
  await mkdir(d, { recursive: true });
  await copyFile(caFile, path.join(d, 'ca.pem'));
  if (client) {
    await copyFile(client.certFile, path.join(d, 'cert.pem'));
    await copyFile(client.keyFile, path.join(d, 'key.pem'));
  }
  return d;
}

beforeAll(async () => {
  const t0 = Date.now();
  // The Go targets' binaries, built (or found in the cache) by the shared daemon's setup.
  await startDockerd();
  // A short path: the daemon's sockets live under it (a unix socket path has at most 107 bytes).
  dir = await mkdtemp(path.join(tmpdir(), 'mtls-'));
  const good = await ca(path.join(dir, 'pki'), 'good');
  const other = await ca(path.join(dir, 'pki'), 'other');
  const [server, client, foreign] = await Promise.all([
    issue(good, 'server', '/CN=memaudit-test-dockerd', 'serverAuth', ['IP:127.0.0.1']),
    issue(good, 'client', '/CN=memaudit-test-client', 'clientAuth'),
    issue(other, 'foreign', '/CN=memaudit-test-foreign-client', 'clientAuth'),
  ]);
  const tls = path.join(dir, 'daemon-tls');
  await mkdir(tls);
  await copyFile(good.caCertFile, path.join(tls, 'ca.pem'));
  await copyFile(server.certFile, path.join(tls, 'server-cert.pem'));
  await copyFile(server.keyFile, path.join(tls, 'server-key.pem'));
  certs.good = await certPath(path.join(dir, 'client'), good.caCertFile, client);
  // Trusts another CA: the daemon's certificate cannot be verified.
  certs.wrongCa = await certPath(path.join(dir, 'wrong-ca'), other.caCertFile, client);
  // Trusts the daemon, but presents a certificate the daemon's CA did not sign.
  certs.foreignClient = await certPath(path.join(dir, 'foreign-client'), good.caCertFile, foreign);
  certs.caOnly = await certPath(path.join(dir, 'ca-only'), good.caCertFile);

  state = path.join(dir, 'd');
  tcp = `127.0.0.1:${await freePort()}`;
  daemonEnv = { ...process.env, MEMAUDIT_DOCKERD_DIR: state, MEMAUDIT_DOCKERD_CGROUP: `docker-tls-${process.pid}`, MEMAUDIT_DOCKERD_TCP: tcp, MEMAUDIT_DOCKERD_TLS_DIR: tls };
  await run(DOCKERD, ['start'], { cwd: REPO, env: daemonEnv, timeout: 300_000 });
  const socket = `unix://${state}/docker.sock`;
  await run(path.join(REPO, 'hack', 'docker-images.sh'), [], { cwd: REPO, env: { ...process.env, DOCKER_HOST: socket }, timeout: 600_000 });
  docker = new Docker({ socketPath: `${state}/docker.sock` });
  process.stderr.write(`tls tests: a second dockerd on tcp://${tcp} with --tlsverify, the test image in it, ready in ${Date.now() - t0} ms\n`);
}, 600_000);

afterAll(async () => {
  if (docker) await removeTestContainers(docker).catch(() => 0);
  if (state) await run(DOCKERD, ['stop'], { cwd: REPO, env: daemonEnv, timeout: 120_000 });
  if (dir) await rm(dir, { recursive: true, force: true });
}, 180_000);

describe('memaudit docker over TCP with TLS (DOCKER_TLS_VERIFY=1, DOCKER_CERT_PATH)', () => {
  it('audits a container of the TLS-protected daemon; a wrong CA, a foreign client certificate and plain HTTP are each one line, exit 69', async () => {
    const container = await runContainer(docker!, { name: 'memaudit-it-tls-filesaver', cmd: ['filesaver', '-dir', '/tmp/msgs', '-selfload', '200', '-size', '8192'] });
    const name = ((await container.inspect()).Name as string).replace(/^\//, '');
    const host = `tcp://${tcp}`;
    const tlsEnv = (certDir: string) => ({ env: { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certDir } });
    const [audited, wrongCa, foreign, plain, caOnly] = await Promise.all([
      memaudit(['docker', name, '--duration', '35s', '-o', 'json'], host, tlsEnv(certs.good)).done,
      memaudit(['docker', name], host, tlsEnv(certs.wrongCa)).done,
      memaudit(['docker', name], host, tlsEnv(certs.foreignClient)).done,
      memaudit(['docker', name], host).done,
      memaudit(['docker', name], host, tlsEnv(certs.caOnly)).done,
    ]);

    expect(audited.code).toBe(0);
    const r = report(audited.stdout);
    expect(r.verdict).toBe('CacheGrowth');
    expect(r.docker).toMatchObject({ container: name, endpoint: host, stopReason: 'duration' });
    expect((r.window as { samples: number }).samples).toBeGreaterThanOrEqual(30);

    process.stderr.write(`tls tests: what a user reads:\n${[wrongCa, foreign, plain, caOnly].map((o) => o.stderr).join('')}`);
    const oneLine = (o: typeof wrongCa, re: RegExp) => {
      expect({ code: o.code, stdout: o.stdout }).toEqual({ code: 69, stdout: '' });
      expect(o.stderr.split('\n')).toEqual([expect.stringMatching(re), '']);
    };
    oneLine(wrongCa, new RegExp(`^memaudit: cannot reach the Docker daemon at ${host} over TLS: unable to verify the first certificate \\(the daemon's certificate is not signed by ${certs.wrongCa}/ca\\.pem, or is not for this host\\)$`));
    oneLine(foreign, new RegExp(`^memaudit: cannot reach the Docker daemon at ${host} over TLS: the daemon ended the TLS handshake: bad certificate \\(the daemon refused the client certificate in ${certs.foreignClient}\\)$`));
    oneLine(plain, new RegExp(`^memaudit: cannot reach the Docker daemon at ${host}: HTTP 400: Client sent an HTTP request to an HTTPS server\\. \\(the daemon speaks TLS: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH\\)$`));
    oneLine(caOnly, new RegExp(`^memaudit: cannot use the TLS files for ${host} \\(DOCKER_CERT_PATH=${certs.caOnly}, which must hold ca.pem, cert.pem and key.pem\\): ENOENT`));
  }, 180_000);
});
