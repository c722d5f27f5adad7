import { composeProjectName, composeServiceFromText, normalizeProjectName } from '../../../src/docker/compose.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dockerClient, dockerEndpoint, type DockerEnvironment } from '../../../src/docker/endpoint.ts';
import { recordFileFor } from '../../../src/docker/containers.ts';
import { composeFileDiff, composeLimitsFrom } from '../../../src/docker/write-limit.ts';
import { isUsageError } from '../../../src/errors.ts';
import type { AuditResult, Recommendation } from '../../../src/model/verdict.ts';

const MiB = 1024 * 1024;

describe('dockerEndpoint and dockerClient: docker-modem reads the endpoint as the docker CLI does', () => {
  const none: DockerEnvironment = { DOCKER_HOST: undefined, DOCKER_TLS_VERIFY: undefined, DOCKER_CERT_PATH: undefined, SSH_AUTH_SOCK: undefined };
  type Modem = { socketPath?: string; host?: string; port?: string; protocol: string; ca?: unknown; cert?: Buffer; key?: Buffer; username?: string; sshOptions?: { agent?: string } };
  const modem = (host: string | undefined, env = none): Modem => (dockerClient(dockerEndpoint(host, env)) as unknown as { modem: Modem }).modem;
  const pem = (name: string) => `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----\n`;
  let certs: string;
  beforeAll(() => {
    certs = mkdtempSync(path.join(tmpdir(), 'memaudit-certs-'));
    // docker-modem only reads them here (split-ca wants the PEM markers); the TLS itself is test/integration/docker/tls.test.ts.
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(path.join(certs, f), pem(f));
  });
  afterAll(() => rmSync(certs, { recursive: true, force: true }));

  it('a unix socket, the docker CLI default when nothing is given', () => {
    expect(dockerEndpoint(undefined)).toMatchObject({ url: 'unix:///var/run/docker.sock', transport: 'unix' });
    expect(modem(undefined)).toMatchObject({ socketPath: '/var/run/docker.sock' });
    expect(modem('unix:///tmp/d/docker.sock')).toMatchObject({ socketPath: '/tmp/d/docker.sock', host: undefined });
  });

  it('tcp:// is plain HTTP; with DOCKER_TLS_VERIFY=1 (or port 2376) TLS with the three files of DOCKER_CERT_PATH', () => {
    expect(dockerEndpoint('tcp://10.0.0.5:2375').transport).toBe('http');
    expect(modem('tcp://10.0.0.5:2375')).toMatchObject({ host: '10.0.0.5', port: '2375', protocol: 'http', cert: undefined });
    const tls = { ...none, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs };
    expect(dockerEndpoint('tcp://127.0.0.1:12376', tls)).toMatchObject({ transport: 'tls', certPath: certs });
    const m = modem('tcp://127.0.0.1:12376', tls);
    expect(m).toMatchObject({ host: '127.0.0.1', port: '12376', protocol: 'https' });
    expect([m.ca, m.cert?.toString(), m.key?.toString()]).toEqual([[pem('ca.pem').trimEnd()], pem('cert.pem'), pem('key.pem')]);
    expect(dockerEndpoint('tcp://docker.example:2376').transport).toBe('tls');
    expect(modem('tcp://[::1]:2375')).toMatchObject({ host: '[::1]', port: '2375' });
  });

  it('ssh:// through docker-modem (docker system dial-stdio on the host), with the ssh agent', () => {
    expect(dockerEndpoint('ssh://me@build-host').transport).toBe('ssh');
    expect(modem('ssh://me@build-host', { ...none, SSH_AUTH_SOCK: '/run/agent.sock', DOCKER_TLS_VERIFY: '1' })).toMatchObject({ host: 'build-host', username: 'me', protocol: 'ssh', sshOptions: { agent: '/run/agent.sock' } });
  });

  it('leaves the process environment as it was', () => {
    const before = JSON.stringify(process.env);
    modem('tcp://127.0.0.1:12376', { ...none, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs });
    expect(JSON.stringify(process.env)).toBe(before);
  });

  it('a DOCKER_CERT_PATH without the files is one EnvironmentError naming it', () => {
    const missing = path.join(certs, 'nowhere');
    expect(() => modem('tcp://127.0.0.1:12376', { ...none, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: missing })).toThrow(
      expect.objectContaining({ name: 'EnvironmentError', message: expect.stringMatching(new RegExp(`^cannot use the TLS files for tcp://127.0.0.1:12376 \\(DOCKER_CERT_PATH=${missing}, which must hold ca.pem, cert.pem and key.pem\\): ENOENT`)) }),
    );
  });

  it('refuses what it cannot talk to, naming the value', () => {
    for (const bad of ['npipe:////./pipe/docker_engine', 'host:2375', 'http://host:2375', 'ftp://x']) {
      expect(() => dockerEndpoint(bad)).toThrow(expect.objectContaining({ name: 'UsageError', message: expect.stringContaining(JSON.stringify(bad)) }));
    }
  });
});

describe('Compose project name (compose order: --project, COMPOSE_PROJECT_NAME, name:, directory)', () => {
  it('normalises as compose-go does', () => {
    expect(normalizeProjectName('My_Shop.v2')).toBe('my_shopv2');
    expect(normalizeProjectName('-_demo')).toBe('demo');
  });

  it('takes the first one given', () => {
    expect(composeProjectName('/srv/Shop/compose.yaml', 'shop-prod', 'Flag', 'env')).toEqual({ project: 'flag', projectFrom: '--project' });
    expect(composeProjectName('/srv/Shop/compose.yaml', 'shop-prod', undefined, 'envname')).toEqual({ project: 'envname', projectFrom: 'COMPOSE_PROJECT_NAME' });
    expect(composeProjectName('/srv/Shop/compose.yaml', 'shop-prod', undefined, undefined)).toEqual({ project: 'shop-prod', projectFrom: 'name:' });
    expect(composeProjectName('/srv/Shop.v2/compose.yaml', undefined, undefined, '')).toEqual({ project: 'shopv2', projectFrom: 'directory' });
  });

  it('reads name: and the services from the file; an unknown service lists the real ones', () => {
    const text = 'name: demo\nx-a: &a {image: x}\nservices:\n  saver: {<<: *a}\n  leaky: {image: y}\n';
    expect(composeServiceFromText(text, '/p/compose.yaml', 'saver', undefined, undefined)).toEqual({
      file: '/p/compose.yaml',
      project: 'demo',
      projectFrom: 'name:',
      service: 'saver',
      services: ['saver', 'leaky'],
    });
    let error: unknown;
    try {
      composeServiceFromText(text, '/p/compose.yaml', 'web', undefined, undefined);
    } catch (e) {
      error = e;
    }
    expect(isUsageError(error)).toBe(true);
    expect((error as Error).message).toBe('no service "web" in /p/compose.yaml; its services: saver, leaky');
    expect(() => composeServiceFromText('image: x\n', 'c.yaml', 'a', undefined, undefined)).toThrow(expect.objectContaining({ name: 'InputError', message: 'c.yaml: not a Compose file: no "services:" map' }));
    expect(() => composeServiceFromText('a: [', 'c.yaml', 'a', undefined, undefined)).toThrow(expect.objectContaining({ name: 'InputError', message: expect.stringMatching(/^c\.yaml: not valid YAML/) }));
  });
});

describe('recordFileFor', () => {
  it('keeps the name for one container and numbers replicas before the extension', () => {
    expect(recordFileFor('/tmp/web.jsonl', 1, 1)).toBe('/tmp/web.jsonl');
    expect(recordFileFor('/tmp/web.jsonl', 2, 3)).toBe('/tmp/web.2.jsonl');
    expect(recordFileFor('/tmp/v1.0/stats', 1, 2)).toBe('/tmp/v1.0/stats.1');
    expect(recordFileFor('.hidden', 1, 2)).toBe('.hidden.1');
  });
});

describe('composeFileDiff', () => {
  it('prints diff -u hunks with three lines of context (jsdiff)', () => {
    const before = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].join('\n') + '\n';
    const after = ['a', 'b', 'c', 'd', 'E', 'f', 'g', 'h', 'i', 'j', 'k'].join('\n') + '\n';
    // e -> E at line 5: context lines 2-4 and 6-8; k appended after j (line 10): context 7-10.
    // The two changes are 5 unchanged lines apart (<= 6), so they share one hunk: lines 2-10 / 2-11.
    expect(composeFileDiff(before, after, 'a/c.yaml', 'b/c.yaml')).toBe(['--- a/c.yaml', '+++ b/c.yaml', '@@ -2,9 +2,10 @@', ' b', ' c', ' d', '-e', '+E', ' f', ' g', ' h', ' i', ' j', '+k', ''].join('\n'));
    expect(composeFileDiff(before, before, 'a', 'b')).toBe('');
  });

  it('marks a last line without its newline as diff -u does', () => {
    expect(composeFileDiff('x\ny', 'x\nz', 'a', 'b')).toBe(['--- a', '+++ b', '@@ -1,2 +1,2 @@', ' x', '-y', '\\ No newline at end of file', '+z', '\\ No newline at end of file', ''].join('\n'));
  });
});

describe('composeLimitsFrom (what --write-limit writes for a service)', () => {
  const rec = (limitMiB: number | null, requestMiB: number | null, goMiB: number | null = null): Recommendation => ({
    memoryLimitBytes: limitMiB === null ? null : limitMiB * MiB,
    memoryRequestBytes: requestMiB === null ? null : requestMiB * MiB,
    goMemLimitBytes: goMiB === null ? null : goMiB * MiB,
    kubernetes: null,
    compose: null,
    dockerUpdate: null,
    goMemLimit: null,
    rationale: limitMiB === null ? ['not enough data for a recommendation yet'] : ['peak'],
    warning: null,
  });
  const result = (over: Partial<AuditResult>): AuditResult => ({
    verdict: 'CacheGrowth',
    leakSource: null,
    explanation: '',
    evidence: [],
    window: { startMs: 0, endMs: 60_000, durationSeconds: 60, samples: 61 },
    growth: {},
    reclaimableShare: 0.9,
    limitBytes: null,
    timeToLimitSeconds: null,
    reclaimObserved: false,
    topGrowingFunctions: [],
    heapExplainsAnonShare: null,
    recommendation: rec(16, 12),
    ...over,
  });

  it('takes the largest limit and reservation among the replicas; GOMEMLIMIT only when asked', () => {
    const replicas = [
      { name: 'shop-web-1', result: result({ recommendation: rec(16, 12, 14) }) },
      { name: 'shop-web-2', result: result({ verdict: 'Stable', recommendation: rec(24, 8, 21) }) },
    ];
    expect(composeLimitsFrom(replicas, { goMemLimit: false })).toEqual({
      kind: 'write',
      limits: { memLimitBytes: 24 * MiB, memReservationBytes: 12 * MiB, goMemLimitBytes: null },
      from: "the largest of 2 replicas' recommendations (shop-web-2: 24.0 MiB)",
    });
    expect(composeLimitsFrom(replicas, { goMemLimit: true })).toMatchObject({ limits: { goMemLimitBytes: 21 * MiB } });
  });

  it('writes nothing when any replica leaks, and says which, how soon and what grows', () => {
    const leak = result({ verdict: 'Leak', leakSource: 'heap', timeToLimitSeconds: 1800, topGrowingFunctions: [{ function: 'main.retainRequest', firstInuseBytes: 0, lastInuseBytes: 1, growthBytes: 1, cumulativeGrowthBytes: 1 }] });
    const d = composeLimitsFrom([{ name: 'shop-web-1', result: result({}) }, { name: 'shop-web-2', result: leak }], { goMemLimit: true });
    expect(d).toEqual({ kind: 'refuse', reason: 'shop-web-2 leaks (Leak/heap, limit reached in 30m, growing: main.retainRequest): a higher limit only delays the OOM kill; fix the leak first. Nothing written' });
  });

  it('writes nothing without a recommendation (InsufficientData)', () => {
    const d = composeLimitsFrom([{ name: 'w', result: result({ verdict: 'InsufficientData', recommendation: rec(null, null) }) }], { goMemLimit: false });
    expect(d).toEqual({ kind: 'refuse', reason: 'no recommended limit for w (InsufficientData: not enough data for a recommendation yet). Nothing written' });
  });
});
