// Records a real cgroup memory trace of one program, in the JSON-lines snapshot format that
// `memaudit analyze --cgroup FILE` reads (docs/formats.md), for test/fixtures/traces/.
//
//   node_modules/.bin/node hack/record-cgroup-trace.ts --out DIR [options] -- PROGRAM [ARGS...]
//
//   --out DIR            write DIR/trace.jsonl (and DIR/heap-N.pb.gz)
//   --duration 4m        how long to sample (s, m suffixes; plain numbers are seconds)
//   --interval 2s        sampling period (ms, s suffixes)
//   --limit 64M          set memory.limit_in_bytes of the child cgroup (K, M, G suffixes; binary)
//   --pprof ADDR         fetch ADDR/debug/pprof/heap?debug=1 with every sample and record its
//                        runtime.MemStats as "go" (pass the same address to the program's -pprof)
//   --heap-profiles N    also save N heap profiles (gzipped protobuf, as served), evenly spread
//                        from the first sample to the last, as heap-1.pb.gz ... (needs --pprof)
//   --tmpfs SIZE         make the work directory a tmpfs of SIZE instead of a plain directory
//   --keep-events        keep memory.stat's event counters (pgpgin, pgfault, ...), dropped by default
//
// In PROGRAM's arguments, {dir} becomes the work directory, a fresh directory that is removed
// (or unmounted) afterwards, so page cache and tmpfs pages the program leaves are freed.
//
// The program runs in a new child of this process's own memory cgroup (cgroup v1 memory
// controller, from /proc/self/cgroup): memaudit-rec-<name>-<pid>. The child's pid is written to
// cgroup.procs before it execs the program, so every page the program touches is charged there.
// Whatever happens (end of duration, error, SIGINT/SIGTERM, the program dying), the processes in
// the cgroup are terminated, the work directory is removed and the cgroup is removed.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { readCgroupSnapshot, snapshotToJson, type CgroupSnapshot } from '../src/sources/cgroup.ts';
import { goSampleFromMemStats, parseMemStatsText } from '../src/sources/memstats.ts';

const V1_MEMORY_ROOT = '/sys/fs/cgroup/memory';
/** Event counters in v1 memory.stat: never sizes, never used by the analysis. */
const EVENT_COUNTERS = new Set(['pgpgin', 'pgpgout', 'pgfault', 'pgmajfault']);
const STOP_GRACE_MS = 5000;
const PPROF_TIMEOUT_MS = 3000;

interface Options {
  outDir: string;
  durationMs: number;
  intervalMs: number;
  limitBytes: number | null;
  pprofAddr: string | null;
  heapProfiles: number;
  tmpfsBytes: number | null;
  keepEvents: boolean;
  command: string[];
}

function log(msg: string): void {
  process.stderr.write(`record-cgroup-trace: ${msg}\n`);
}

function bytesFromSize(text: string, flag: string): number {
  const m = /^(\d+)([KMG]i?)?B?$/i.exec(text.trim());
  if (!m) throw new Error(`${flag}: expected a size like 64M, got ${JSON.stringify(text)}`);
  const unit = (m[2] ?? '').charAt(0).toUpperCase();
  const mult = unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : 1;
  return Number(m[1]) * mult;
}

function msFromDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new Error(`${flag}: expected a duration like 2s, 500ms or 4m, got ${JSON.stringify(text)}`);
  const mult = m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000;
  return Math.round(Number(m[1]) * mult);
}

function parseOptions(argv: string[]): Options {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      duration: { type: 'string', default: '4m' },
      interval: { type: 'string', default: '2s' },
      limit: { type: 'string' },
      pprof: { type: 'string' },
      'heap-profiles': { type: 'string', default: '0' },
      tmpfs: { type: 'string' },
      'keep-events': { type: 'boolean', default: false },
    },
  });
  if (!values.out) throw new Error('--out DIR is required');
  if (positionals.length === 0) throw new Error('give the program to run after --');
  const heapProfiles = Number(values['heap-profiles']);
  if (heapProfiles > 0 && !values.pprof) throw new Error('--heap-profiles needs --pprof');
  return {
    outDir: values.out,
    durationMs: msFromDuration(values.duration, '--duration'),
    intervalMs: msFromDuration(values.interval, '--interval'),
    limitBytes: values.limit ? bytesFromSize(values.limit, '--limit') : null,
    pprofAddr: values.pprof ?? null,
    heapProfiles,
    tmpfsBytes: values.tmpfs ? bytesFromSize(values.tmpfs, '--tmpfs') : null,
    keepEvents: values['keep-events'],
    command: positionals,
  };
}

/** This process's memory cgroup directory, from the `N:memory:/path` line of /proc/self/cgroup. */
async function ownMemoryCgroup(): Promise<string> {
  const text = await readFile('/proc/self/cgroup', 'utf8');
  const line = text.split('\n').find((l) => l.split(':')[1]?.split(',').includes('memory'));
  if (!line) throw new Error('no cgroup v1 memory controller in /proc/self/cgroup (cgroup v2 only machines are not supported by this script)');
  return path.join(V1_MEMORY_ROOT, line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1));
}

async function cgroupPids(dir: string): Promise<number[]> {
  const text = await readFile(path.join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map(Number);
}

function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Terminates everything in the cgroup: SIGTERM, a grace period, then SIGKILL. */
async function emptyCgroup(dir: string): Promise<void> {
  signalAll(await cgroupPids(dir), 'SIGTERM');
  const deadline = Date.now() + STOP_GRACE_MS;
  while ((await cgroupPids(dir)).length > 0 && Date.now() < deadline) await sleep(100);
  for (let i = 0; i < 50; i++) {
    const left = await cgroupPids(dir);
    if (left.length === 0) return;
    signalAll(left, 'SIGKILL');
    await sleep(100);
  }
  throw new Error(`processes still in ${dir} after SIGKILL: ${(await cgroupPids(dir)).join(' ')}`);
}

async function fetchWithTimeout(url: string): Promise<Response> {
  const res = await fetch(url, { signal: AbortSignal.timeout(PPROF_TIMEOUT_MS) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res;
}

async function fetchGoSample(addr: string): Promise<CgroupSnapshot['go']> {
  const url = `http://${addr}/debug/pprof/heap?debug=1`;
  const text = await (await fetchWithTimeout(url)).text();
  return goSampleFromMemStats(parseMemStatsText(text, url), url);
}

async function waitForPprof(addr: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the program exited (code ${child.exitCode}) before pprof answered`);
    try {
      await fetchGoSample(addr);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`pprof at ${addr} did not answer within 15 s`, { cause: err });
      await sleep(200);
    }
  }
}

function withoutEventCounters(stat: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(stat)) if (!EVENT_COUNTERS.has(k.replace(/^total_/, ''))) out[k] = v;
  return out;
}

/** Sample indexes at which to save heap profiles: first, last and evenly between. */
function profileIndexes(count: number, samples: number): Set<number> {
  if (count <= 0) return new Set();
  if (count === 1) return new Set([samples - 1]);
  return new Set(Array.from({ length: count }, (_, i) => Math.round((i * (samples - 1)) / (count - 1))));
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const name = path.basename(path.resolve(opts.outDir));
  const parent = await ownMemoryCgroup();
  const cg = path.join(parent, `memaudit-rec-${name}-${process.pid}`);
  const workDir = await mkdtemp(path.join(os.tmpdir(), `memaudit-rec-${name}-`));
  let mountedTmpfs = false;
  let child: ChildProcess | null = null;
  let cgroupCreated = false;
  let stopping = false;

  const cleanup = async (): Promise<void> => {
    if (cgroupCreated) {
      await emptyCgroup(cg).catch((err: unknown) => log(`cleanup: ${String(err)}`));
    }
    // Freed before rmdir so the page cache / tmpfs pages do not outlive the cgroup as charges
    // reparented to ours.
    if (mountedTmpfs) {
      try {
        execFileSync('umount', [workDir]);
      } catch (err) {
        log(`cleanup: umount ${workDir}: ${String(err)}`);
      }
    }
    await rm(workDir, { recursive: true, force: true }).catch((err: unknown) => log(`cleanup: ${String(err)}`));
    if (cgroupCreated) {
      await writeFile(path.join(cg, 'memory.force_empty'), '0').catch(() => undefined);
      for (let i = 0; ; i++) {
        try {
          await rmdir(cg);
          break;
        } catch (err) {
          if (i >= 50) {
            log(`cleanup: rmdir ${cg}: ${String(err)}`);
            break;
          }
          await sleep(100);
        }
      }
    }
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: stopping`);
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    if (opts.tmpfsBytes !== null) {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${opts.tmpfsBytes},mode=0755`, 'memaudit-rec', workDir]);
      mountedTmpfs = true;
    }
    await mkdir(cg);
    cgroupCreated = true;
    if (opts.limitBytes !== null) await writeFile(path.join(cg, 'memory.limit_in_bytes'), String(opts.limitBytes));
    await mkdir(opts.outDir, { recursive: true });
    const tracePath = path.join(opts.outDir, 'trace.jsonl');
    await writeFile(tracePath, '');

    const command = opts.command.map((a) => a.replaceAll('{dir}', workDir));
    log(`kernel ${os.release()}, cgroup v1, ${cg}, limit ${opts.limitBytes ?? 'none'}`);
    log(`running: ${command.join(' ')}`);
    // $0 is the cgroup dir: the shell moves itself there, then becomes the program.
    child = spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cg, ...command], { stdio: ['ignore', 'pipe', 'pipe'] });
    const prefix = (chunk: Buffer) => process.stderr.write(chunk.toString().replace(/^(?=.)/gm, '  | '));
    child.stdout!.on('data', prefix);
    child.stderr!.on('data', prefix);
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));

    if (opts.pprofAddr) await waitForPprof(opts.pprofAddr, child);
    else await sleep(1000);

    const samples = Math.floor(opts.durationMs / opts.intervalMs) + 1;
    const profileAt = profileIndexes(opts.heapProfiles, samples);
    let profileNo = 0;
    let written = 0;
    const start = Date.now();
    for (let i = 0; i < samples && !stopping; i++) {
      const due = start + i * opts.intervalMs;
      if (due > Date.now()) await Promise.race([sleep(due - Date.now()), exited]);
      if (stopping) break;
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`the program exited (code ${child.exitCode}, signal ${child.signalCode}) after ${i} samples`);
      }
      const ts = Date.now();
      const [snap, go] = await Promise.all([
        readCgroupSnapshot(cg, 1, () => ts),
        opts.pprofAddr ? fetchGoSample(opts.pprofAddr).catch((err: unknown) => (log(`sample ${i}: no runtime stats: ${String(err)}`), undefined)) : undefined,
      ]);
      if (!opts.keepEvents) snap.stat = withoutEventCounters(snap.stat);
      if (go) snap.go = go;
      await appendFile(tracePath, JSON.stringify(snapshotToJson(snap)) + '\n');
      written++;
      if (profileAt.has(i) && opts.pprofAddr) {
        const body = Buffer.from(await (await fetchWithTimeout(`http://${opts.pprofAddr}/debug/pprof/heap`)).arrayBuffer());
        await writeFile(path.join(opts.outDir, `heap-${++profileNo}.pb.gz`), body);
      }
      if (i % 15 === 0 || i === samples - 1) {
        const mib = (n: number | undefined) => ((n ?? 0) / 2 ** 20).toFixed(1);
        const s = snap.stat;
        log(
          `[${i + 1}/${samples}] usage ${mib(snap.usageBytes)} MiB rss ${mib(s.total_rss)} cache ${mib(s.total_cache)} ` +
            `shmem ${mib(s.total_shmem)} inactive_file ${mib(s.total_inactive_file)}` +
            (go ? ` heapInuse ${mib(go.heapInuseBytes)}` : ''),
        );
      }
    }
    log(`wrote ${written} samples to ${tracePath}${profileNo ? ` and ${profileNo} heap profiles` : ''}`);
  } finally {
    if (!stopping) {
      stopping = true;
      await cleanup();
    }
  }
}

main().catch((err: unknown) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
