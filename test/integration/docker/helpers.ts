import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { MEMAUDIT, REPO } from '../local/helpers.ts';

export { freePort, report } from '../local/helpers.ts';

const run = promisify(execFile);

/** Every container a test creates carries this label with the run's id, so afterAll removes exactly those. */
export const TEST_LABEL = 'io.memaudit.test-run';
export const RUN_ID = `${process.pid}-${randomBytes(3).toString('hex')}`;
export const IMAGE = 'memaudit-apps:test';

/**
 * The private daemon of hack/dockerd.sh (started when it is not running: the start is idempotent and
 * it stays up for the rest of the suite) and the test image (hack/docker-images.sh: a no-op when up
 * to date). Returns DOCKER_HOST.
 */
export async function startDockerd(): Promise<string> {
  const t0 = Date.now();
  await run(path.join(REPO, 'hack', 'dockerd.sh'), ['start'], { cwd: REPO, timeout: 300_000 });
  const { stdout } = await run(path.join(REPO, 'hack', 'dockerd.sh'), ['env'], { cwd: REPO });
  const host = stdout.trim().replace(/^DOCKER_HOST=/, '');
  await run(path.join(REPO, 'hack', 'docker-images.sh'), [], { cwd: REPO, timeout: 900_000, env: { ...process.env, DOCKER_HOST: host } });
  process.stderr.write(`docker tests: daemon and ${IMAGE} ready in ${Date.now() - t0} ms (${host})\n`);
  return host;
}

export const dockerClient = (host: string): Docker => new Docker({ socketPath: host.replace(/^unix:\/\//, '') });

export interface ContainerSpec {
  name: string;
  cmd: string[];
  network?: 'none' | 'host';
  memoryBytes?: number;
  shmSizeBytes?: number;
  labels?: Record<string, string>;
  env?: string[];
  /** Docker's restart policy, e.g. 'on-failure'. */
  restart?: string;
}

/** Creates and starts a container of the test image and waits for the target's "ready" line. */
export async function runContainer(docker: Docker, spec: ContainerSpec): Promise<Docker.Container> {
  const container = await docker.createContainer({
    name: `${spec.name}-${RUN_ID}`,
    Image: IMAGE,
    Cmd: spec.cmd,
    Labels: { ...spec.labels, [TEST_LABEL]: RUN_ID },
    ...(spec.env ? { Env: spec.env } : {}),
    HostConfig: {
      NetworkMode: spec.network ?? 'none',
      ...(spec.memoryBytes !== undefined ? { Memory: spec.memoryBytes, MemorySwap: spec.memoryBytes } : {}),
      ...(spec.shmSizeBytes !== undefined ? { ShmSize: spec.shmSizeBytes } : {}),
      ...(spec.restart !== undefined ? { RestartPolicy: { Name: spec.restart } } : {}),
    },
  });
  await container.start();
  await waitForLog(container, /: ready/, 20_000);
  return container;
}

export async function waitForLog(container: Docker.Container, re: RegExp, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const logs = (await container.logs({ stdout: true, stderr: true })).toString('utf8');
    if (re.test(logs)) return;
    if (Date.now() > end) throw new Error(`no ${re} in the logs of ${container.id.slice(0, 12)} within ${timeoutMs} ms:\n${logs}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Removes every container of this run (also after failures). */
export async function removeTestContainers(docker: Docker): Promise<number> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${TEST_LABEL}=${RUN_ID}`] } });
  await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
  return list.length;
}

export interface MemauditRun {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; seconds: number }>;
  waitForStderr(re: RegExp, timeoutMs?: number): Promise<void>;
}

/**
 * `./bin/memaudit ARGS` with DOCKER_HOST set, and the DOCKER_* of `options.env` only (stdout and
 * stderr piped: no TTY, plain live lines).
 */
export function memaudit(args: string[], dockerHost: string | undefined, options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): MemauditRun {
  const t0 = Date.now();
  const env = { ...process.env };
  for (const k of ['DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH']) delete env[k];
  Object.assign(env, options.env);
  if (dockerHost !== undefined) env.DOCKER_HOST = dockerHost;
  const child = spawn(MEMAUDIT, args, { cwd: options.cwd ?? REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    for (const w of [...waiters]) {
      if (w.re.test(stderr)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  const done = new Promise<Awaited<MemauditRun['done']>>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr, seconds: (Date.now() - t0) / 1000 }));
  });
  return {
    child,
    done,
    waitForStderr(re, timeoutMs = 30_000) {
      if (re.test(stderr)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${re} on memaudit's stderr within ${timeoutMs} ms; got:\n${stderr}`)), timeoutMs);
        waiters.push({
          re,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        void done.then(() => {
          clearTimeout(timer);
          reject(new Error(`memaudit exited before ${re}; stderr:\n${stderr}`));
        });
      });
    },
  };
}
