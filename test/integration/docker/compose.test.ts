import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { parseDocument } from 'yaml';
import { NUMBER_LABEL, ONEOFF_LABEL, PROJECT_LABEL, SERVICE_LABEL } from '../../../src/docker/compose.ts';
import { composeFileDiff } from '../../../src/docker/write-limit.ts';
import { bytesFromDockerSize } from '../../../src/model/units.ts';
import { REPO } from '../local/helpers.ts';
import { dockerClient, IMAGE, memaudit, removeTestContainers, report, RUN_ID, startDockerd, TEST_LABEL, waitForLog } from './helpers.ts';

// `memaudit docker --compose-file` on the example project (examples/compose/compose.yaml), started
// the way `docker compose up` would (there is no compose plugin here): containers created through
// the Docker API from the parsed file, with compose's labels. `saver` (2 replicas, mem_limit form)
// gets its limit written; `leaky` (deploy form) is a Leak and its file section stays as it is.

const DURATION = '40s';
const MiB = 1024 * 1024;
const EXAMPLE = path.join(REPO, 'examples', 'compose', 'compose.yaml');
const PROJECT = `memaudit-it-${RUN_ID}`;

interface ServiceDef {
  command: string[];
  network_mode?: string;
  mem_limit?: string | number;
  mem_reservation?: string | number;
  scale?: number;
  deploy?: { resources?: { limits?: { memory?: string } } };
  environment?: Record<string, string> | string[];
}

/** `docker compose up -d SERVICE` for the parts of the spec the example uses. */
async function composeUp(docker: Docker, file: string, service: string): Promise<Docker.Container[]> {
  const doc = parseDocument(readFileSync(file, 'utf8'), { merge: true }).toJS({ maxAliasCount: -1 }) as { name: string; services: Record<string, ServiceDef> };
  const def = doc.services[service]!;
  const size = (v: string | number | undefined) => (v === undefined ? undefined : typeof v === 'number' ? v : (bytesFromDockerSize(v) ?? undefined));
  const memory = size(def.mem_limit) ?? size(def.deploy?.resources?.limits?.memory);
  const reservation = size(def.mem_reservation);
  const env = Array.isArray(def.environment) ? def.environment : Object.entries(def.environment ?? {}).map(([k, v]) => `${k}=${v}`);
  const containers: Docker.Container[] = [];
  for (let n = 1; n <= (def.scale ?? 1); n++) {
    const c = await docker.createContainer({
      name: `${doc.name}-${service}-${n}`,
      Image: IMAGE,
      Cmd: def.command,
      Env: env,
      Labels: { [PROJECT_LABEL]: doc.name, [SERVICE_LABEL]: service, [NUMBER_LABEL]: String(n), [ONEOFF_LABEL]: 'False', [TEST_LABEL]: RUN_ID },
      HostConfig: {
        NetworkMode: def.network_mode ?? 'none',
        ...(memory !== undefined ? { Memory: memory, MemorySwap: memory } : {}),
        ...(reservation !== undefined ? { MemoryReservation: reservation } : {}),
      },
    });
    await c.start();
    containers.push(c);
  }
  for (const c of containers) await waitForLog(c, /: ready/, 20_000);
  return containers;
}

let host: string;
let docker: Docker;
let dir: string;
let file: string;
let original: string;
let saver: Awaited<ReturnType<typeof memaudit>['done']>;
let leaky: Awaited<ReturnType<typeof memaudit>['done']>;

beforeAll(async () => {
  host = await startDockerd();
  docker = dockerClient(host);
  dir = mkdtempSync(path.join(os.tmpdir(), 'memaudit-compose-'));
  file = path.join(dir, 'compose.yaml');
  copyFileSync(EXAMPLE, file);
  original = readFileSync(EXAMPLE, 'utf8').replace(/^name: memaudit-demo$/m, `name: ${PROJECT}`);
  expect(original).toContain(`name: ${PROJECT}\n`);
  writeFileSync(file, original);
  try {
    await composeUp(docker, file, 'saver');
    await composeUp(docker, file, 'leaky');
    [saver, leaky] = await Promise.all([
      memaudit(['docker', '--compose-file', file, '--service', 'saver', '--duration', DURATION, '--write-limit', '--gomemlimit'], host).done,
      memaudit(['docker', '--compose-file', file, '--service', 'leaky', '--duration', DURATION, '--write-limit', '--fail-on', 'Leak', '-o', 'json'], host).done,
    ]);
  } finally {
    await removeTestContainers(docker);
  }
}, 180_000);

afterAll(async () => {
  if (docker) await removeTestContainers(docker);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('memaudit docker --compose-file --write-limit', () => {
  it('audits every replica of the service, found by the compose labels (project from name:)', () => {
    expect(saver.code).toBe(0);
    expect(saver.stderr).toContain(`service saver of Compose project ${PROJECT}: 2 running container(s): ${PROJECT}-saver-1, ${PROJECT}-saver-2`);
    expect(saver.stdout).toContain(`memaudit: container ${PROJECT}-saver-1: CacheGrowth\n`);
    expect(saver.stdout).toContain(`memaudit: container ${PROJECT}-saver-2: CacheGrowth\n`);
  });

  it('writes the largest recommendation of the replicas as mem_limit / mem_reservation, and GOMEMLIMIT, keeping the rest of the file byte for byte', () => {
    const recs = [...saver.stdout.matchAll(/compose: {4}mem_limit: (\d+)m, mem_reservation: (\d+)m/g)];
    expect(recs).toHaveLength(2);
    const limit = Math.max(...recs.map((m) => Number(m[1])));
    const reservation = Math.max(...recs.map((m) => Number(m[2])));
    const goMemLimit = Math.floor((limit * MiB * 0.9) / MiB);
    const now = readFileSync(file, 'utf8');
    const changed = composeFileDiff(original, now, 'a', 'b')
      .split('\n')
      .filter((l) => /^[-+] /.test(l));
    expect(changed).toEqual([
      '-    mem_limit: 256m # a guess; --write-limit replaces it with the recommendation',
      '-    mem_reservation: 128m',
      `+    mem_limit: ${limit}m # a guess; --write-limit replaces it with the recommendation`,
      `+    mem_reservation: ${reservation}m`,
      '+    environment:',
      `+      GOMEMLIMIT: ${goMemLimit}MiB`,
    ]);
    // The diff it applied is printed after the reports.
    expect(saver.stdout).toContain(`write-limit: wrote mem_limit: ${limit}m, mem_reservation: ${reservation}m, environment.GOMEMLIMIT: ${goMemLimit}MiB for service saver into ${file}`);
    expect(saver.stdout).toContain(`--- a/compose.yaml\n+++ b/compose.yaml\n`);
    expect(saver.stdout).toContain(`\n+    mem_limit: ${limit}m # a guess`);
  });

  it('refuses to write a limit for a Leak, says why, and exits 1 under --fail-on Leak', () => {
    expect(leaky.code).toBe(1);
    const out = JSON.parse(leaky.stdout) as { compose: Record<string, unknown>; replicas: ReturnType<typeof report>[]; writeLimit: { written: boolean; reason: string } };
    expect(out.compose).toEqual({ file, project: PROJECT, service: 'leaky', containers: [`${PROJECT}-leaky-1`] });
    expect(out.replicas).toHaveLength(1);
    expect(`${out.replicas[0]!.verdict}/${out.replicas[0]!.leakSource}`).toBe('Leak/anon');
    expect(out.replicas[0]!.limitBytes).toBe(512 * MiB); // deploy.resources.limits.memory: 512M
    expect(out.writeLimit).toEqual({ written: false, reason: expect.stringMatching(new RegExp(`^${PROJECT}-leaky-1 leaks \\(Leak/anon.*only delays the OOM kill.*Nothing written$`)) });
    expect(leaky.stderr).toMatch(/verdict .*leaky-1: Leak\/anon is in --fail-on \(Leak\): exit code 1/);
    expect(readFileSync(file, 'utf8')).toContain('    deploy:\n      resources:\n        limits:\n          memory: 512M\n');
  });

  it('the written limit is one the service runs under: saver restarted from the patched file keeps running', async () => {
    const [c] = await composeUp(docker, file, 'saver');
    const memory = (await c!.inspect()).HostConfig.Memory!;
    expect(memory).toBeLessThan(256 * MiB);
    await new Promise((r) => setTimeout(r, 8_000)); // filesaver fills its cache up to the limit within this
    const state = (await c!.inspect()).State;
    expect(state).toMatchObject({ Running: true, OOMKilled: false });
    await removeTestContainers(docker);
  }, 60_000);

  it('a service without running containers is exit 69, naming project, service and endpoint', async () => {
    const r = await memaudit(['docker', '--compose-file', file, '--service', 'saver', '--project', 'nosuchproject', '--duration', '5s'], host).done;
    expect(r.code).toBe(69);
    expect(r.stderr).toBe(`memaudit: no running container of service saver in Compose project nosuchproject (project name from --project) on ${host}; start it (docker compose -f ${file} up -d saver) or name the project with --project\n`);
  });

  it('an unknown service is a usage error listing the services', async () => {
    const r = await memaudit(['docker', '--compose-file', file, '--service', 'web'], host).done;
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`memaudit docker: no service "web" in ${file}; its services: saver, leaky; see 'memaudit docker --help'\n`);
  });
});
