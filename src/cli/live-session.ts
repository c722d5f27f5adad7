// What `run`, `watch` and `docker` show while sampling: the live view with the verdict so far on a
// terminal (plain progress lines otherwise), the target's own output and notices above it.
import { audit } from '../analysis/audit.ts';
import type { AuditOptions } from '../analysis/audit.ts';
import type { MemorySample } from '../model/sample.ts';
import { LiveView } from '../report/live.ts';
import type { LiveStatus } from '../report/live.ts';
import { PLAIN_STYLE, terminalStyle } from '../report/style.ts';
import type { CommandIo } from './command.ts';
import type { SamplingSettings } from './sampling-options.ts';

export class LiveSession {
  readonly #io: CommandIo;
  readonly #settings: SamplingSettings;
  readonly #auditOptions: AuditOptions;
  readonly live: LiveView | null;
  #nextAuditMs = 0;
  #verdict: LiveStatus['verdict'];
  #first: MemorySample | undefined;
  #startMs = 0;

  constructor(io: CommandIo, settings: SamplingSettings, auditOptions: AuditOptions) {
    this.#io = io;
    this.#settings = settings;
    this.#auditOptions = auditOptions;
    const stdout = io.stdout as NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
    if (settings.quiet) this.live = null;
    else if (stdout.isTTY) this.live = new LiveView(stdout, { tty: true, above: io.stderr, columns: () => stdout.columns, style: settings.color ? terminalStyle(stdout) : PLAIN_STYLE });
    else this.live = new LiveView(io.stderr, { tty: false, plainEverySeconds: Math.max(10, settings.intervalMs / 1000) });
  }

  notice(line: string): void {
    const text = line.endsWith('\n') ? line : line + '\n';
    if (this.live) this.live.write(text);
    else this.#io.stderr.write(text);
  }

  /** The target's own output. */
  output(text: string): void {
    if (this.live) this.live.write(text);
    else this.#io.stderr.write(text);
  }

  onSample(title: string, source: string, sample: MemorySample, all: readonly MemorySample[]): void {
    if (!this.#first) {
      this.#first = sample;
      this.#startMs = sample.timestampMs;
    }
    if (!this.live) return;
    this.#updateVerdict(all);
    this.live.update({
      title,
      source,
      elapsedSeconds: (sample.timestampMs - this.#startMs) / 1000,
      durationSeconds: this.#settings.durationMs / 1000,
      sample,
      first: this.#first,
      verdict: this.#verdict,
    });
  }

  /** The verdict so far, recomputed at most as often as it stays cheap (the fit is O(n^2)). */
  #updateVerdict(all: readonly MemorySample[]): void {
    const now = Date.now();
    if (now < this.#nextAuditMs) return;
    const t0 = performance.now();
    try {
      const r = audit(all, [], this.#auditOptions);
      this.#verdict =
        r.verdict === 'InsufficientData'
          ? { note: `collecting: ${r.explanation.replace(/^Not enough data for a verdict yet: /, '').replace(/\.$/, '')}` }
          : { verdict: r.verdict, leakSource: r.leakSource, explanation: r.explanation };
    } catch (e) {
      this.#verdict = { note: `analysis failed: ${e instanceof Error ? e.message : String(e)}` };
    }
    const spent = performance.now() - t0;
    this.#nextAuditMs = now + Math.max(0, spent * 20);
  }

  /** Ends the live view; `context` (how the sampling went) goes to stderr above the report. */
  close(context: readonly string[]): void {
    this.live?.close();
    for (const line of context) this.#io.stderr.write(`memaudit: ${line}\n`);
  }
}
