import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { dockerClient, memaudit, removeTestContainers, report, runContainer, startDockerd } from './helpers.ts';

// What happens around the sampling: a container removed mid-sample (analyse what was collected and
// say so), --record written while sampling and replayed by `analyze --docker-stats`, Ctrl-C, a
// daemon that does not answer, a container that is not running, and usage errors.

const MiB = 1024 * 1024;
let host: string;
let docker: Docker;
let scratch: string;

beforeAll(async () => {
  host = await startDockerd();
  docker = dockerClient(host);
  scratch = mkdtempSync(path.join(os.tmpdir(), 'memaudit-docker-'));
}, 300_000);

afterAll(async () => {
  if (docker) await removeTestContainers(docker);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

afterEach(async () => {
  await removeTestContainers(docker);
});

const nameOf = async (c: Docker.Container): Promise<string> => ((await c.inspect()).Name as string).replace(/^\//, '');

describe('memaudit docker: the container and the run', () => {
  it('a container removed mid-sample: analyses what was collected, says so; --record replays to the same verdict; Ctrl-C in parallel', async () => {
    const [leak, other] = await Promise.all([
      runContainer(docker, { name: 'memaudit-it-removed', cmd: ['heapleak', '-rate', String(MiB)] }),
      runContainer(docker, { name: 'memaudit-it-interrupted', cmd: ['gcchurn', '-rate', String(8 * MiB), '-live', String(8 * MiB)] }),
    ]);
    const record = path.join(scratch, 'removed.jsonl');
    const removed = memaudit(['docker', await nameOf(leak), '--duration', '90s', '--record', record, '-o', 'json'], host);
    const interrupted = memaudit(['docker', await nameOf(other), '--duration', '90s', '-o', 'json'], host);
    // Plain live lines every 10 s on stderr: past 30 s of samples, remove the container / press Ctrl-C.
    await Promise.all([removed.waitForStderr(/\[3[0-9]s\/90s\]/, 60_000), interrupted.waitForStderr(/\[1[0-9]s\/90s\]/, 60_000)]);
    const t0 = Date.now();
    interrupted.child.kill('SIGINT');
    await leak.remove({ force: true });
    const [r, i] = await Promise.all([removed.done, interrupted.done]);

    expect(r.code).toBe(0);
    // Noticed when it happened, not at the end of the 90 s window (which is over 50 s away).
    expect(Date.now() - t0).toBeLessThan(40_000);
    // The exit code shows when the inspect after the stream's end finds the container still being
    // removed; on a loaded machine the removal can win (then the daemon answers 404, and no code).
    expect(r.stderr).toMatch(/memaudit: container memaudit-it-removed-\S+ was removed( \(exit code 137\))?: the verdict covers what was collected until then\n/);
    const rep = report(r.stdout);
    expect(`${rep.verdict}/${rep.leakSource}`).toBe('Leak/anon');
    expect(rep.docker).toMatchObject({ stopReason: 'gone', goneReason: expect.stringMatching(/was removed/), record });
    const samples = (rep.window as { samples: number }).samples;
    expect(samples).toBeGreaterThanOrEqual(30);

    // The recording is the raw stream: one Engine API object a line, at least one per sample.
    const lines = readFileSync(record, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(samples);
    expect(Object.keys(JSON.parse(lines[0]!) as object)).toEqual(expect.arrayContaining(['read', 'memory_stats', 'cpu_stats', 'id', 'name']));
    const replay = await memaudit(['analyze', '--docker-stats', record, '-o', 'json'], host).done;
    expect(replay.code).toBe(0);
    expect(`${report(replay.stdout).verdict}/${report(replay.stdout).leakSource}`).toBe('Leak/anon');

    expect(i.code).toBe(130);
    expect(i.stderr).toMatch(/memaudit: SIGINT: analysing what was collected/);
    expect(i.stderr).toMatch(/interrupted by SIGINT: the verdict covers what was collected until then/);
    expect(report(i.stdout).docker).toMatchObject({ stopReason: 'interrupted' });
    // Read-only: Ctrl-C of memaudit leaves the container running.
    expect((await other.inspect()).State.Running).toBe(true);
  }, 120_000);

  it('a leak that is OOM-killed and restarted by its restart policy: followed through the restarts, the window split there', async () => {
    // 3 MiB/s retained under a 40 MiB limit: an OOM kill every ~12 s, and Docker starts it again.
    const c = await runContainer(docker, { name: 'memaudit-it-oomloop', cmd: ['heapleak', '-rate', String(3 * MiB)], memoryBytes: 40 * MiB, restart: 'on-failure' });
    const o = await memaudit(['docker', await nameOf(c), '--duration', '45s', '-o', 'json'], host).done;
    expect(o.code).toBe(0);
    const rep = report(o.stdout);
    expect(`${rep.verdict}/${rep.leakSource}`).toBe('Leak/anon');
    expect((await c.inspect()).RestartCount).toBeGreaterThanOrEqual(2);
    // Each restart is a new incarnation of the container: the stats stream went through a stopped spell.
    expect((rep.evidence as string[])[0]).toMatch(/^\d+ restarts? \((new container or process|at the limit: OOM kill)[^)]*\) at /);
    expect(rep.explanation).toMatch(/It already hit the 40\.0 MiB limit|At this rate the 40\.0 MiB limit is reached/);
    expect(rep.recommendation).toMatchObject({ memoryLimitBytes: 40 * MiB });
  }, 120_000);

  it('a daemon that does not answer: one line naming the endpoint, exit 69', async () => {
    const sock = path.join(scratch, 'no-daemon.sock');
    const viaFlag = await memaudit(['docker', 'web', '--host', `unix://${sock}`], host).done;
    expect(viaFlag.code).toBe(69);
    expect(viaFlag.stderr).toBe(`memaudit: cannot reach the Docker daemon at unix://${sock}: connect ENOENT ${sock} (is dockerd running? set DOCKER_HOST or --host)\n`);
    const viaEnv = await memaudit(['docker', 'web'], 'tcp://127.0.0.1:1').done;
    expect(viaEnv.code).toBe(69);
    expect(viaEnv.stderr).toMatch(/^memaudit: cannot reach the Docker daemon at tcp:\/\/127\.0\.0\.1:1: connect ECONNREFUSED 127\.0\.0\.1:1 \(is dockerd running\? set DOCKER_HOST or --host\)\n$/);
  });

  it('a container that is not running is exit 69; one that does not exist is a usage error', async () => {
    const c = await runContainer(docker, { name: 'memaudit-it-stopped', cmd: ['heapleak', '-rate', '1024'] });
    await c.stop({ t: 1 });
    const name = await nameOf(c);
    const stopped = await memaudit(['docker', name], host).done;
    expect(stopped.code).toBe(69);
    expect(stopped.stderr).toBe(`memaudit: container ${name} is not running (exited, exit code 0): there is nothing to sample\n`);
    const missing = await memaudit(['docker', 'memaudit-no-such-container'], host).done;
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`memaudit docker: no container "memaudit-no-such-container" on ${host}; see 'memaudit docker --help'\n`);
  });

  it('usage errors: exit 2 with one line, before any daemon is asked', async () => {
    const cases: [string[], RegExp][] = [
      [['docker'], /give a CONTAINER \(name or id\) or --compose-file FILE --service NAME/],
      [['docker', 'a', 'b'], /one container at a time/],
      [['docker', 'a', '--compose-file', 'c.yaml', '--service', 's'], /give a CONTAINER .* or --compose-file/],
      [['docker', '--compose-file', 'c.yaml'], /--compose-file needs --service NAME/],
      [['docker', 'a', '--write-limit'], /--write-limit goes with --compose-file/],
      [['docker', '--compose-file', 'c.yaml', '--service', 's', '--gomemlimit'], /--gomemlimit goes with --write-limit/],
      [['docker', 'a', '--host', 'http://h:2375'], /unsupported Docker endpoint "http:\/\/h:2375": expected unix:\/\/\/path\/to\/docker.sock, tcp:\/\/host:port or ssh:\/\/user@host/],
      [['docker', 'a', '--pprof', 'ftp://x'], /--pprof: only http and https URLs/],
      [['docker', 'a', '--duration', 'soon'], /--duration: expected a duration/],
      [['docker', 'a', '--bogus'], /^memaudit docker: unknown option --bogus; see 'memaudit docker --help'$/m],
    ];
    const runs = await Promise.all(cases.map(([args]) => memaudit(args, 'unix:///nonexistent/docker.sock').done));
    cases.forEach(([args, re], i) => {
      const r = runs[i]!;
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(re);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });
  }, 60_000);
});
