// Ctrl-C while sampling: the first SIGINT/SIGTERM/SIGHUP stops sampling and the verdict is made
// from what was collected; a second one quits at once (exit 130) after `onSecond` cleans up.
// Shared by `memaudit run`, `watch` and `docker`.

export interface InterruptOptions {
  notice: (line: string) => void;
  /** What the first signal does besides stopping, e.g. forwarding it to the command. */
  onFirst?: (signal: NodeJS.Signals) => void;
  /** Last cleanup before exiting on the second signal. */
  onSecond?: (signal: NodeJS.Signals) => void;
  /** How the notice describes the first stop. */
  action?: string;
}

export interface Interrupt {
  /** Aborted on the first signal (or by abort()). */
  readonly signal: AbortSignal;
  readonly interruptedBy: NodeJS.Signals | null;
  abort(): void;
  /** Removes the signal handlers. */
  dispose(): void;
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export function onInterrupt(options: InterruptOptions): Interrupt {
  const stop = new AbortController();
  let interruptedBy: NodeJS.Signals | null = null;
  const handler = (signal: NodeJS.Signals) => {
    if (interruptedBy !== null) {
      options.onSecond?.(signal);
      process.exit(130);
    }
    interruptedBy = signal;
    options.notice(`memaudit: ${signal}: ${options.action ?? 'analysing what was collected'} (again to quit at once)`);
    options.onFirst?.(signal);
    stop.abort();
  };
  for (const s of SIGNALS) process.on(s, handler);
  return {
    signal: stop.signal,
    get interruptedBy() {
      return interruptedBy;
    },
    abort: () => stop.abort(),
    dispose: () => {
      for (const s of SIGNALS) process.off(s, handler);
    },
  };
}
