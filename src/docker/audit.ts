import type Docker from 'dockerode';
import { goRuntimeReader } from '../local/go-runtime.ts';
import { onInterrupt } from '../local/interrupt.ts';
import { sample } from '../local/sampler.ts';
import type { HeapProfile, MemorySample } from '../model/sample.ts';
import { StatsLineRecorder } from './recorder.ts';
import { ContainerStatsReader } from './stats-stream.ts';

/**
 * `memaudit docker`: samples running containers from their Docker stats streams, side by side,
 * with the local mode's sampling loop (src/local/sampler.ts: schedule, pprof MemStats and heap
 * profiles, stop on duration / gone / abort). Read-only: nothing is started, stopped or changed.
 * Stops at --duration, when a container is gone (the others go on), or on Ctrl-C (then all stop
 * and what was collected is analysed).
 */
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
  const recorders: (StatsLineRecorder | null)[] = [];
  const closeAll = () => {
    for (const r of readers) r.close();
  };
  stop.signal.addEventListener('abort', closeAll);
  try {
    // Open every stream first: a failure then stops before anything is sampled.
    for (let i = 0; i < options.targets.length; i++) {
      const file = options.recordFiles[i] ?? null;
      const record = file !== null ? await StatsLineRecorder.open(file) : null;
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
            ...(options.pprofUrl && i === 0 ? { goRuntime: goRuntimeReader(options.pprofUrl) } : {}),
            intervalMs: options.intervalMs,
            durationMs: options.durationMs,
            signal: stop.signal,
            onSample: (s, _snapshot, all) => options.onSample?.(i, s, all),
            onRuntimeGap: (reason) => options.notice(`memaudit: no Go runtime data: ${reason}`),
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
async function closeRecorders(recorders: (StatsLineRecorder | null)[]): Promise<void> {
  const open = recorders.splice(0).filter((r) => r !== null);
  const closed = await Promise.allSettled(open.map((r) => r.close()));
  const failed = closed.find((c): c is PromiseRejectedResult => c.status === 'rejected');
  if (failed) throw failed.reason;
}
