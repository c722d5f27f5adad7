import { jest } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../../../src/cli/main.ts';
import { mustRun } from '../../e2e/harness/exec.ts';
import { issue } from '../../e2e/harness/pki.ts';
import { labelledCases, type LabelledCase } from '../../helpers/labelled.ts';
import { cadvisorFields, cadvisorOpenMetrics, promtoolBackfill, startPrometheus, type RunningPrometheus, type TracedContainer } from '../../helpers/prometheus.ts';

// `memaudit scan` against a REAL Prometheus (Debian's package) holding real data: every labelled
// trace (real programs recorded in real cgroups and Docker containers, test/fixtures) written
// into its TSDB with promtool as the cAdvisor and kube-state-metrics series of one pod each. The
// scan must give every trace its label. Without Go runtime data a heap or off-heap leak can only
// be named `anon`, as in test/unit/analysis/labelled-traces.test.ts.
jest.setTimeout(300_000);

const cases = labelledCases();
/** cgroup/heap-leak -> namespace "cgroup", pod "heap-leak". */
const where = (c: LabelledCase) => ({ namespace: c.kind, pod: c.name.slice(c.name.indexOf('/') + 1), container: 'app' });
const expected = (c: LabelledCase) => ({ verdict: c.verdict, leakSource: c.leakSource === 'heap' || c.leakSource === 'offHeap' ? 'anon' : c.leakSource });

let dir: string;
let prom: RunningPrometheus;
/** Every trace ends here (unix seconds): the scan's --end. */
let end: number;

async function scan(...args: string[]) {
  let out = '';
  let err = '';
  const io = { stdout: new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) }), stderr: new Writable({ write: (c, _e, cb) => ((err += String(c)), cb()) }) };
  // Defaults for this data, each left out where the test gives its own (an option given twice is refused).
  const defaults = { '--history': '6m', '--step': '2s', '--end': String(end), '--min-duration': '30s' };
  const own = Object.entries(defaults).filter(([k]) => !args.includes(k)).flat();
  const code = await main(['scan', '--prometheus-url', prom.url, ...own, ...args], io);
  return { code, stdout: out, stderr: err };
}

type Doc = { scan: { queries: number; containers: number; warnings: string[] }; containers: { namespace: string; pod: string; container: string; verdict: string | null; leakSource: string | null; limitBytes: number | null; requestBytes: number | null; error?: string; notes: string[] }[] };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'memaudit-scan-'));
  end = Math.floor((Date.now() - 10 * 60_000) / 60_000) * 60;
  const containers: TracedContainer[] = [];
  for (const c of cases) {
    const { samples } = await c.load();
    const shift = end * 1000 - samples[samples.length - 1]!.timestampMs;
    const limit = samples.at(-1)!.limitBytes;
    containers.push({
      labels: where(c),
      points: samples.map((s) => cadvisorFields({ ...s, timestampMs: s.timestampMs + shift })),
      ksm: { restarts: 0, ...(limit ? { limitBytes: limit, requestBytes: Math.round(limit / 2) } : {}) },
    });
  }
  await writeFile(path.join(dir, 'traces.om'), cadvisorOpenMetrics(containers));
  await promtoolBackfill(path.join(dir, 'traces.om'), path.join(dir, 'data'));
  prom = await startPrometheus({ dataDir: path.join(dir, 'data'), workDir: dir });
});

afterAll(async () => {
  await prom?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('memaudit scan of a real Prometheus holding the labelled traces', () => {
  let doc: Doc;

  it('gives every trace its labelled verdict', async () => {
    const r = await scan('-o', 'json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    doc = JSON.parse(r.stdout) as Doc;
    expect(doc.scan.containers).toBe(cases.length);
    const got = Object.fromEntries(doc.containers.map((c) => [`${c.namespace}/${c.pod}`, { verdict: c.verdict, leakSource: c.leakSource }]));
    const want = Object.fromEntries(cases.map((c) => [`${where(c).namespace}/${where(c).pod}`, expected(c)]));
    expect(got).toEqual(want);
  });

  it('reads limits and requests from the series, and says which exporter series are missing', () => {
    const limited = doc.containers.find((c) => c.pod === 'pagecache-limit64m')!;
    expect(limited).toMatchObject({ limitBytes: 64 * 2 ** 20, requestBytes: 32 * 2 ** 20 });
    expect(doc.containers.find((c) => c.pod === 'heap-leak' && c.namespace === 'cgroup')).toMatchObject({ limitBytes: null, requestBytes: null });
    // cAdvisor's counters and last_terminated_reason are not in this TSDB; the scan says so once.
    expect(doc.scan.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/^no series of container_oom_events_total in any batch$/), expect.stringMatching(/^no series of kube_pod_container_status_last_terminated_reason in any batch \(is kube-state-metrics scraped\?\)$/)]));
    // Two namespaces (the cgroup and the Docker traces): one batch, 13 metrics, plus 1 label and 2 series requests.
    expect(doc.scan.queries).toBe(13 + 3);
  });

  it('prints the table most urgent first, and --fail-on Leak exits 1 naming the leaks', async () => {
    const r = await scan('--fail-on', 'Leak');
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^memaudit scan: ${cases.length} containers from http://127.0.0.1:\\d+, .* at 2s \\(16 queries\\): ${cases.filter((c) => c.verdict === 'Leak').length} leaking`));
    const header = lines.findIndex((l) => l.startsWith('VERDICT'));
    const verdicts = lines.slice(header + 1).map((l) => l.split(/\s+/)[0]!);
    const leaks = verdicts.filter((v) => v.startsWith('Leak')).length;
    expect(verdicts.slice(0, leaks).every((v) => v.startsWith('Leak'))).toBe(true);
    // A leak under a limit has a time to OOM: it comes first.
    expect(lines[header + 1]).toMatch(/^Leak\/anon\s+\d+[smh]/);
    expect(r.stderr).toMatch(/^memaudit: \d+ container\(s\) with a verdict in --fail-on \(Leak\): .*: exit code 1\n$/);
  });

  it('narrows to --namespace and --selector, with fewer queries', async () => {
    const r = await scan('--namespace', 'docker', '--selector', 'pod=~"heap-leak|gc-.*"', '-o', 'csv');
    expect(r.code).toBe(0);
    const rows = r.stdout.trimEnd().split('\n').slice(1);
    expect(rows.map((l) => l.split(',').slice(0, 5).join(','))).toEqual(['docker,heap-leak,app,Leak,anon', 'docker,gc-churn,app,Stable,']);
  });

  it('splits a range over 11,000 points in time, which the real server would refuse in one query', async () => {
    // 4 h at 1 s: 14,401 points a series, two chunks for each of the four metrics read at the step.
    const r = await scan('--namespace', 'docker', '--history', '4h', '--step', '1s', '-o', 'json');
    expect(r.stderr).toBe('');
    const d = JSON.parse(r.stdout) as Doc;
    expect(d.scan.queries).toBe(1 + 4 * 2 + 9);
    const want = cases.filter((c) => c.kind === 'docker').map((c) => [where(c).pod, expected(c).verdict, expected(c).leakSource]);
    expect(d.containers.map((c) => [c.pod, c.verdict, c.leakSource]).sort()).toEqual(want.sort());
  });

  it('writes the fleet as one self-contained HTML page with a chart per container', async () => {
    const r = await scan('-o', 'html');
    expect(r.code).toBe(0);
    expect(r.stdout.match(/<svg /g)).toHaveLength(cases.length);
    expect(r.stdout).not.toMatch(/<script|src=|<link/);
  });
});

describe('the connection options against a real Prometheus with TLS and basic auth (--web.config.file)', () => {
  let secure: RunningPrometheus;
  let tls: string;
  const PASSWORD = 'memaudit-test-password';
  // bcrypt of PASSWORD at cost 4 (Prometheus checks it on every request; a higher cost only slows the test).
  const HASH = '$2b$04$o61tsNd6/b3ou.EvdSuGyuntFaWyYU..xF80FkyzghW1dEjokxGe6';

  beforeAll(async () => {
    tls = path.join(dir, 'tls');
    await mustRun('mkdir', ['-p', tls]);
    const ca = { dir: tls, caCertFile: path.join(tls, 'ca.crt'), caKeyFile: path.join(tls, 'ca.key') };
    await mustRun('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', ca.caKeyFile]);
    await mustRun('openssl', ['req', '-x509', '-new', '-key', ca.caKeyFile, '-out', ca.caCertFile, '-days', '2', '-subj', '/CN=memaudit-test-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']);
    const server = await issue(ca, 'prometheus', '/CN=prometheus', 'serverAuth', ['IP:127.0.0.1']);
    await issue(ca, 'scanner', '/CN=memaudit', 'clientAuth');
    const web = path.join(tls, 'web.yml');
    await writeFile(web, `tls_server_config:\n  cert_file: ${server.certFile}\n  key_file: ${server.keyFile}\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${ca.caCertFile}\nbasic_auth_users:\n  scanner: '${HASH}'\n`);
    await writeFile(path.join(tls, 'basic-auth'), `scanner:${PASSWORD}\n`);
    // The same TSDB, read-only use: a second server on a copy.
    await mustRun('cp', ['-r', path.join(dir, 'data'), path.join(tls, 'data')]);
    await rm(path.join(tls, 'data', 'lock'), { force: true });
    secure = await startPrometheus({ dataDir: path.join(tls, 'data'), workDir: tls, extraArgs: [`--web.config.file=${web}`], tls: { ca: await readFile(ca.caCertFile), cert: await readFile(path.join(tls, 'scanner.crt')), key: await readFile(path.join(tls, 'scanner.key')), basicAuth: `scanner:${PASSWORD}` } });
  });

  afterAll(async () => {
    await secure?.stop();
  });

  const base = () => ['scan', '--prometheus-url', secure.url, '--history', '6m', '--step', '2s', '--end', String(end), '--min-duration', '30s', '--namespace', 'docker', '-o', 'json'];
  const run = async (...args: string[]) => {
    let out = '';
    let err = '';
    const io = { stdout: new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) }), stderr: new Writable({ write: (c, _e, cb) => ((err += String(c)), cb()) }) };
    const code = await main([...base(), ...args], io);
    return { code, stdout: out, stderr: err };
  };

  it('reads through TLS with the CA, a client certificate and basic auth from a file', async () => {
    const r = await run('--ca-file', path.join(tls, 'ca.crt'), '--cert-file', path.join(tls, 'scanner.crt'), '--key-file', path.join(tls, 'scanner.key'), '--basic-auth-file', path.join(tls, 'basic-auth'));
    expect(r.stderr).toBe('');
    expect((JSON.parse(r.stdout) as Doc).containers.map((c) => c.verdict)).toHaveLength(cases.filter((c) => c.kind === 'docker').length);
  });

  it('--insecure-skip-tls-verify trusts any server certificate', async () => {
    const r = await run('--insecure-skip-tls-verify', '--cert-file', path.join(tls, 'scanner.crt'), '--key-file', path.join(tls, 'scanner.key'), '--basic-auth', `scanner:${PASSWORD}`);
    expect(r.code).toBe(0);
  });

  it('fails with the server\'s reason: an unknown CA, a wrong password', async () => {
    const noCa = await run('--cert-file', path.join(tls, 'scanner.crt'), '--key-file', path.join(tls, 'scanner.key'), '--basic-auth', `scanner:${PASSWORD}`);
    expect(noCa.code).toBe(69);
    expect(noCa.stderr).toMatch(/^memaudit: cannot read https:\/\/127\.0\.0\.1:\d+: cannot list the containers of namespace docker: .*(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|unable to verify)/i);
    const badPassword = await run('--ca-file', path.join(tls, 'ca.crt'), '--cert-file', path.join(tls, 'scanner.crt'), '--key-file', path.join(tls, 'scanner.key'), '--basic-auth', 'scanner:wrong');
    expect(badPassword.code).toBe(69);
    expect(badPassword.stderr).toMatch(/HTTP 401 Unauthorized/);
  });
});
