// `memaudit docker`: finds running containers and samples them from their Docker stats streams,
// side by side, through the sampling loop (src/sampling/loop.ts: schedule, pprof MemStats and heap
// profiles, stop on duration / gone / abort). Read-only: nothing is started, stopped or changed.
// Stops at --duration, when a container is gone (the others go on), or on Ctrl-C (then all stop
// and what was collected is analysed).
import type Docker from 'dockerode';
import { EnvironmentError, UsageError } from '../errors.ts';
import type { HeapProfile, MemorySample } from '../model/sample.ts';
import { ContainerStatsReader, describeError, statusCodeOf } from '../sampling/docker-stats.ts';
import { onInterrupt } from '../sampling/interrupt.ts';
import { sample } from '../sampling/loop.ts';
import { goRuntimeReader } from '../sampling/pprof.ts';
import { LineRecorder } from '../sampling/record.ts';
import type { ConnectedDocker } from './endpoint.ts';

export interface ContainerTarget {
  id: string;
  name: string;
}

export interface ContainerSamplingOptions {
  docker: Docker;
  endpointUrl: string;
  /** GET /info MemTotal: tells Docker's "no limit" from a real one. */
  hostMemoryBytes?: number;
  targets: ContainerTarget[];
  durationMs: number;
  intervalMs: number;
  /** Only with a single target: the Go program's pprof base URL. */
  pprofUrl: string | null;
  /** Per target: where to write its raw stats stream (--record), or null. */
  recordFiles: (string | null)[];
  notice: (line: string) => void;
  onStart?: (index: number, source: string) => void;
  onSample?: (index: number, sample: MemorySample, all: readonly MemorySample[]) => void;
}

export type ContainerStopReason = 'duration' | 'interrupted' | 'gone';

export interface ContainerSampling {
  target: ContainerTarget;
  source: string;
  samples: MemorySample[];
  profiles: HeapProfile[];
  stopReason: ContainerStopReason;
  /** What happened to the container: "container web-1 was removed", "... exited with code 137, OOM-killed". */
  goneReason?: string;
  record: { file: string; lines: number } | null;
}

export interface ContainersSampled {
  results: ContainerSampling[];
  interruptedBy: NodeJS.Signals | null;
}

export async function sampleContainers(options: ContainerSamplingOptions): Promise<ContainersSampled> {
  const stop = onInterrupt({ notice: options.notice });

  const readers: ContainerStatsReader[] = [];
  /** Index-aligned with the targets; null where nothing is recorded. */
  const recorders: (LineRecorder | null)[] = [];
  const closeAll = () => {
    for (const r of readers) r.close();
  };
  stop.signal.addEventListener('abort', closeAll);
  try {
    // Open every stream first: a failure then stops before anything is sampled.
    for (let i = 0; i < options.targets.length; i++) {
      const file = options.recordFiles[i] ?? null;
      const record = file !== null ? await LineRecorder.open(file) : null;
      recorders.push(record);
      const target = options.targets[i]!;
      readers.push(
        await ContainerStatsReader.open({
          container: options.docker.getContainer(target.id),
          name: target.name,
          endpointUrl: options.endpointUrl,
          ...(options.hostMemoryBytes !== undefined ? { hostMemoryBytes: options.hostMemoryBytes } : {}),
          record,
          notice: options.notice,
        }),
      );
      options.onStart?.(i, readers[i]!.description);
    }
    const results = await Promise.all(
      options.targets.map(async (target, i): Promise<ContainerSampling> => {
        const reader = readers[i]!;
        const record = recorders[i] ?? null;
        try {
          const r = await sample({
            reader,
            goRuntime: options.pprofUrl && i === 0 ? goRuntimeReader(options.pprofUrl) : null,
            intervalMs: options.intervalMs,
            durationMs: options.durationMs,
            signal: stop.signal,
            onSample: (reading, all) => options.onSample?.(i, reading.sample, all),
            notice: options.notice,
          });
          const stopReason: ContainerStopReason = stop.interruptedBy !== null ? 'interrupted' : r.stopReason === 'gone' ? 'gone' : 'duration';
          return {
            target,
            source: reader.description,
            samples: r.samples,
            profiles: r.profiles,
            stopReason,
            ...(stopReason === 'gone' && r.goneReason !== undefined ? { goneReason: r.goneReason } : {}),
            record: record ? { file: record.file, lines: record.lines } : null,
          };
        } finally {
          reader.close();
        }
      }),
    );
    await closeRecorders(recorders);
    return { results, interruptedBy: stop.interruptedBy };
  } catch (e) {
    await closeRecorders(recorders).catch(() => undefined);
    throw e;
  } finally {
    stop.signal.removeEventListener('abort', closeAll);
    closeAll();
    stop.dispose();
  }
}

/** Closes every recorder, then reports the first failed write. */
async function closeRecorders(recorders: (LineRecorder | null)[]): Promise<void> {
  const open = recorders.splice(0).filter((r) => r !== null);
  const closed = await Promise.allSettled(open.map((r) => r.close()));
  const failed = closed.find((c): c is PromiseRejectedResult => c.status === 'rejected');
  if (failed) throw failed.reason;
}

/** The container by name or id; it must be running (a stopped one has no stats to stream). */
export async function runningContainer(connected: ConnectedDocker, nameOrId: string): Promise<ContainerTarget> {
  let info: { Id: string; Name: string; State: { Running: boolean; Status?: string; ExitCode?: number } };
  try {
    info = (await connected.docker.getContainer(nameOrId).inspect()) as unknown as typeof info;
  } catch (cause) {
    if (statusCodeOf(cause) === 404) throw new UsageError(`no container ${JSON.stringify(nameOrId)} on ${connected.endpoint.url}`, { cause });
    throw new EnvironmentError(`cannot inspect container ${nameOrId} on ${connected.endpoint.url}: ${describeError(cause)}`, { cause });
  }
  const name = info.Name.replace(/^\//, '');
  if (!info.State.Running) {
    throw new EnvironmentError(`container ${name} is not running (${info.State.Status ?? 'stopped'}${info.State.ExitCode !== undefined ? `, exit code ${info.State.ExitCode}` : ''}): there is nothing to sample`);
  }
  return { id: info.Id, name };
}

/**
 * The `--record` file for replica `number` of `count`: "web.jsonl" stays as is for one container,
 * and becomes "web.2.jsonl" for the second of several (a recording holds one container's stream).
 */
export function recordFileFor(file: string, number: number, count: number): string {
  if (count <= 1) return file;
  const slash = file.lastIndexOf('/');
  const dot = file.lastIndexOf('.');
  return dot > slash + 1 ? `${file.slice(0, dot)}.${number}${file.slice(dot)}` : `${file}.${number}`;
}
