import type Docker from 'dockerode';
import { dockerClient, freePort, memaudit, removeTestContainers, report, runContainer, startDockerd } from './helpers.ts';
import type { ContainerSpec } from './helpers.ts';

// `memaudit docker CONTAINER` against real containers of the Go audit targets on the private daemon
// (hack/dockerd.sh), sampled from the real stats stream. Every case samples 40 s with
// `--fail-on Leak -o json`, so the exit code is checked against the verdict in the same runs; the
// cases run side by side (memaudit mostly waits on the stream), so the file takes one run's time.

const DURATION = '40s';
const MiB = 1024 * 1024;

interface Case {
  name: string;
  container: (ctx: { port: number }) => Omit<ContainerSpec, 'name'>;
  pprof?: boolean;
  check: (r: ReturnType<typeof report>) => void;
}

const CASES: Record<string, Case> = {
  filesaver: {
    name: 'filesaver (saves every message to a file), no limit: CacheGrowth',
    container: () => ({ cmd: ['filesaver', '-dir', '/tmp/msgs', '-selfload', '200', '-size', '8192'] }),
    check: (r) => {
      expect(r.verdict).toBe('CacheGrowth');
      expect(r.limitBytes).toBeNull(); // the stats' limit is the host's memory: GET /info MemTotal tells
      expect(r.reclaimableShare).toBeGreaterThan(0.5);
    },
  },
  filesaverLimit: {
    name: 'filesaver with --memory 64m: CacheGrowth (never Leak), the kernel reclaims at the limit',
    // 400 x 8 KiB/s: the 64 MiB limit is reached after ~15 s, then the cache is reclaimed for ~25 s.
    container: () => ({ cmd: ['filesaver', '-dir', '/tmp/msgs', '-selfload', '400', '-size', '8192'], memoryBytes: 64 * MiB }),
    check: (r) => {
      expect(r.verdict).toBe('CacheGrowth');
      expect(r.limitBytes).toBe(64 * MiB);
      expect(r.reclaimObserved).toBe(true);
    },
  },
  tmpfs: {
    name: 'tmpfswriter into /dev/shm: Leak/shmem',
    container: () => ({ cmd: ['tmpfswriter', '-dir', '/dev/shm', '-rate', String(MiB)], shmSizeBytes: 256 * MiB }),
    check: (r) => expect(`${r.verdict}/${r.leakSource}`).toBe('Leak/shmem'),
  },
  heapleak: {
    name: 'heapleak without runtime data: Leak/anon',
    container: () => ({ cmd: ['heapleak', '-rate', String(MiB)] }),
    check: (r) => expect(`${r.verdict}/${r.leakSource}`).toBe('Leak/anon'),
  },
  heapleakPprof: {
    name: 'heapleak with --pprof on a loopback port (--network host): Leak/heap, naming the function',
    container: ({ port }) => ({ cmd: ['heapleak', '-rate', String(MiB), '-pprof', `127.0.0.1:${port}`], network: 'host' }),
    pprof: true,
    check: (r) => {
      expect(`${r.verdict}/${r.leakSource}`).toBe('Leak/heap');
      expect((r.topGrowingFunctions as { function: string }[]).map((f) => f.function)).toContain('main.retainRequest');
      expect((r.growth as Record<string, unknown>).goHeap).toBeDefined();
    },
  },
};

type Outcome = Awaited<ReturnType<typeof memaudit>['done']> & { containerName: string };
const outcomes = new Map<string, Outcome>();
let docker: Docker;

beforeAll(async () => {
  const host = await startDockerd();
  docker = dockerClient(host);
  try {
    await Promise.all(
      Object.entries(CASES).map(async ([key, c]) => {
        const port = await freePort();
        const container = await runContainer(docker, { name: `memaudit-it-${key.toLowerCase()}`, ...c.container({ port }) });
        const name = ((await container.inspect()).Name as string).replace(/^\//, '');
        const args = ['docker', name, '--duration', DURATION, '--fail-on', 'Leak', '-o', 'json', ...(c.pprof ? ['--pprof', `http://127.0.0.1:${port}`] : [])];
        outcomes.set(key, { ...(await memaudit(args, host).done), containerName: name });
      }),
    );
  } finally {
    await removeTestContainers(docker);
  }
}, 240_000);

afterAll(async () => {
  if (docker) await removeTestContainers(docker);
});

describe('memaudit docker CONTAINER: verdicts from the real stats stream', () => {
  for (const [key, c] of Object.entries(CASES)) {
    it(c.name, () => {
      const o = outcomes.get(key)!;
      const r = report(o.stdout);
      c.check(r);
      expect(r.target).toEqual({ kind: 'container', name: o.containerName });
      expect(r.docker).toMatchObject({ container: o.containerName, stopReason: 'duration' });
      expect((r.window as { samples: number }).samples).toBeGreaterThanOrEqual(36); // one stats object a second
      // The whole --duration 40s was sampled (a busy machine may stretch it a little, never shorten it).
      expect(Number(/samples over (\d+)s from docker stats stream of /.exec(o.stderr)?.[1])).toBeGreaterThanOrEqual(40);
      expect((r.window as { durationSeconds: number }).durationSeconds).toBeGreaterThanOrEqual(38);
      // --fail-on Leak: exit 1 exactly for the leaks.
      expect(o.code).toBe(r.verdict === 'Leak' ? 1 : 0);
    });
  }

  it('recommends the container by name in the docker update line', () => {
    const r = report(outcomes.get('filesaver')!.stdout);
    expect((r.recommendation as { dockerUpdate: string }).dockerUpdate).toMatch(new RegExp(`^docker update --memory \\d+m .* ${outcomes.get('filesaver')!.containerName}$`));
  });
});
