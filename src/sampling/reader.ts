// The one reading convention every live mode samples through (local, Docker, the controller).
//
// A read has three outcomes, and only these:
//   - data:  the value;
//   - gone:  the target no longer exists (cgroup removed, process exited, container removed or
//            stopped): stop sampling it and analyse what was collected;
//   - retry: nothing this time, worth asking again next round (an endpoint not answering yet, a
//            timeout, an HTTP error, a container not yet in the kubelet's metrics).
// Anything else (a bug, input that cannot be parsed) throws.
import type { GoRuntimeSample, HeapProfile, MemorySample } from '../model/sample.ts';

export type Read<T> = { kind: 'data'; value: T } | Gone | Retry;

export interface Gone {
  kind: 'gone';
  reason: string;
}

export interface Retry {
  kind: 'retry';
  reason: string;
}

export const data = <T>(value: T): Read<T> => ({ kind: 'data', value });
export const gone = (reason: string): Gone => ({ kind: 'gone', reason });
export const retry = (reason: string): Retry => ({ kind: 'retry', reason });

/** A sample, and the raw record behind it when the reader has one (a cgroup snapshot), for `--record`. */
export interface Reading<R = never> {
  sample: MemorySample;
  raw?: R;
}

/** Reads one target's memory: a cgroup, a process tree, a container's stats stream. */
export interface MemoryReader<R = never> {
  /** What is read, for people: "cgroup v1 /sys/fs/cgroup/memory/..." or "process 1234 (and children)". */
  readonly description: string;
  read(): Promise<Read<Reading<R>>>;
}

/** A Go program's runtime.MemStats and heap profiles (net/http/pprof). */
export interface GoRuntimeReader {
  memStats(timeoutMs: number): Promise<Read<GoRuntimeSample>>;
  heapProfile(timeoutMs: number): Promise<Read<HeapProfile>>;
}
