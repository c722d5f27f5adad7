// A container's memory from the Docker stats STREAM (GET /containers/{id}/stats, one object a
// second), behind the MemoryReader interface the sampling loop polls. One-shot requests would cost
// 1-2 s each (the daemon samples twice for the CPU delta); the stream is already there once a second.
//
// read() returns the newest object not yet returned, waiting for the next one when there is none:
// polling every second follows the stream one to one, polling less often takes the latest object.
// Every raw line goes to the recorder (`--record`), whatever the polling interval.
//
// The container is gone when the stream ends (removed), stalls, or sends the zero-time objects of a
// stopped container while it is neither running nor restarting; read() then says which (removed,
// exited with code N, OOM-killed), and the loop stops with what it has.
import type Docker from 'dockerode';
import { EnvironmentError, isInputError } from '../errors.ts';
import type { MemorySample } from '../model/sample.ts';
import { formatBytes } from '../model/units.ts';
import { parseDockerStatsObject } from '../sources/docker-stats.ts';
import { data, gone } from './reader.ts';
import type { MemoryReader, Read, Reading } from './reader.ts';
import type { LineRecorder } from './record.ts';

export interface StatsStreamOptions {
  container: Docker.Container;
  /** The container's name, for people. */
  name: string;
  /** Where the daemon is, for the description. */
  endpointUrl: string;
  /** GET /info MemTotal, to tell Docker's "no limit" (the host's memory) from a real limit. */
  hostMemoryBytes?: number;
  record?: LineRecorder | null;
  /** No object for this long: the daemon stopped answering. Default 30 s. */
  stallTimeoutMs?: number;
  notice: (line: string) => void;
}

export class ContainerStatsReader implements MemoryReader {
  readonly description: string;
  readonly #options: StatsStreamOptions;
  readonly #stream: NodeJS.ReadableStream & { destroy?: () => void };
  #partial = '';
  #unread: MemorySample | undefined;
  #goneReason: string | undefined;
  #checkingStopped = false;
  #wake: (() => void) | undefined;
  #badObjects = 0;
  #warnedUnverified = false;
  #closed = false;
  /** Stopped spells seen (zero-time objects): each one ends an incarnation of the container. */
  #incarnation = 0;
  #inStoppedSpell = false;

  private constructor(options: StatsStreamOptions, stream: NodeJS.ReadableStream) {
    this.#options = options;
    this.#stream = stream;
    this.description = `docker stats stream of ${options.name} (${options.container.id.slice(0, 12)}) on ${options.endpointUrl}`;
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => this.#onData(chunk));
    stream.on('end', () => this.#onEnd());
    stream.on('close', () => this.#onEnd());
    stream.on('error', (e: unknown) => this.#onEnd(`the stats stream failed: ${describeError(e)}`));
  }

  static async open(options: StatsStreamOptions): Promise<ContainerStatsReader> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await options.container.stats({ stream: true });
    } catch (cause) {
      throw new EnvironmentError(`cannot stream the stats of container ${options.name}: ${describeError(cause)}`, { cause });
    }
    return new ContainerStatsReader(options, stream);
  }

  async read(): Promise<Read<Reading>> {
    const stallMs = this.#options.stallTimeoutMs ?? 30_000;
    const deadline = Date.now() + stallMs;
    for (;;) {
      if (this.#unread) {
        const sample = this.#unread;
        this.#unread = undefined;
        return data({ sample });
      }
      if (this.#goneReason !== undefined) return gone(this.#goneReason);
      const left = deadline - Date.now();
      if (left <= 0) {
        this.#goneReason = `no stats from the daemon for container ${this.#options.name} in ${Math.round(stallMs / 1000)} s`;
        return gone(this.#goneReason);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /** Ends the stream (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#goneReason ??= 'sampling ended';
    this.#stream.destroy?.();
    this.#wake?.();
  }

  #onData(chunk: string): void {
    if (this.#closed) return;
    const text = this.#partial + chunk;
    const lines = text.split('\n');
    this.#partial = lines.pop()!;
    for (const line of lines) if (line.trim() !== '') this.#onLine(line);
  }

  #onLine(line: string): void {
    this.#options.record?.write(line);
    let parsed;
    try {
      parsed = parseDockerStatsObject(JSON.parse(line), {
        source: `docker stats of ${this.#options.name}`,
        ...(this.#options.hostMemoryBytes !== undefined ? { hostMemoryBytes: this.#options.hostMemoryBytes } : {}),
      });
    } catch (e) {
      // One odd object is skipped; the stream goes on. Said once, not every second.
      if (this.#badObjects++ === 0) this.#options.notice(`memaudit: skipping a stats object of ${this.#options.name} that cannot be read: ${isInputError(e) || e instanceof SyntaxError ? e.message : String(e)}`);
      return;
    }
    if ('kind' in parsed) {
      if (!this.#inStoppedSpell) this.#incarnation++;
      this.#inStoppedSpell = true;
      void this.#checkStopped();
      return;
    }
    this.#inStoppedSpell = false;
    // Samples after a stopped spell come from a restarted container (restart policy): a new instance.
    parsed.sample.instance = `${this.#options.container.id.slice(0, 12)}#${this.#incarnation}`;
    if (parsed.limit.basis === 'unverified' && parsed.limit.limitBytes !== null && !this.#warnedUnverified) {
      this.#warnedUnverified = true;
      this.#options.notice(`memaudit: the stats report a limit of ${formatBytes(parsed.limit.limitBytes)} for ${this.#options.name}, which may be the host's memory (the daemon did not give its MemTotal)`);
    }
    this.#unread = parsed.sample;
    this.#wake?.();
  }

  /** A zero-time object: the container is stopped, or restarting (then the stream goes on). */
  async #checkStopped(): Promise<void> {
    if (this.#checkingStopped || this.#goneReason !== undefined) return;
    this.#checkingStopped = true;
    try {
      const reason = await goneReason(this.#options.container, this.#options.name);
      if (reason !== null) this.#setGone(reason);
    } finally {
      this.#checkingStopped = false;
    }
  }

  #onEnd(reason?: string): void {
    if (this.#closed || this.#goneReason !== undefined) return;
    // The stream of a removed container just ends; say what happened to it.
    void goneReason(this.#options.container, this.#options.name).then((r) => this.#setGone(r ?? reason ?? `the stats stream of container ${this.#options.name} ended`));
  }

  #setGone(reason: string): void {
    if (this.#goneReason !== undefined) return;
    this.#goneReason = reason;
    this.#wake?.();
  }
}

/** Why the container no longer has stats, or null when it is running or restarting. */
export async function goneReason(container: Docker.Container, name: string): Promise<string | null> {
  let state: Record<string, unknown>;
  try {
    state = ((await container.inspect()) as unknown as { State?: Record<string, unknown> }).State ?? {};
  } catch (e) {
    if (statusCodeOf(e) === 404) return `container ${name} was removed`;
    return `container ${name} cannot be inspected: ${describeError(e)}`;
  }
  if (state.Running === true || state.Restarting === true) return null;
  const code = typeof state.ExitCode === 'number' ? state.ExitCode : null;
  const oom = state.OOMKilled === true ? ', OOM-killed' : '';
  const status = typeof state.Status === 'string' ? state.Status : 'stopped';
  if (status === 'removing') return `container ${name} was removed${code !== null ? ` (exit code ${code}${oom})` : ''}`;
  return `container ${name} ${status === 'exited' || status === 'dead' ? status : 'stopped'}${code !== null ? ` with code ${code}` : ''}${oom}`;
}

/** One line for a dockerode error: "HTTP 404: No such container: x", or the first line of the message. */
export function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const err = e as Error & { code?: string; statusCode?: number; json?: { message?: string } | null; reason?: string };
  if (typeof err.statusCode === 'number') return `HTTP ${err.statusCode}${err.json?.message ? `: ${err.json.message}` : err.reason ? `: ${err.reason}` : ''}`;
  return err.message.split('\n')[0]!;
}

/** HTTP status of a dockerode error (404 for a container that is not there), else undefined. */
export const statusCodeOf = (e: unknown): number | undefined => (e as { statusCode?: unknown } | null)?.statusCode as number | undefined;
