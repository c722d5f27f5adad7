/**
 * Exit codes, stable for scripts. 0-2 follow the usual conventions; the rest are memaudit's own so
 * a CI gate can tell "the target leaks" from "memaudit could not read its input".
 */
export const ExitCode = {
  Ok: 0,
  /** `--fail-on` matched the verdict. */
  VerdictGate: 1,
  Usage: 2,
  /** Bad input file or data (InputError). */
  BadInput: 65,
  /** A required service or system feature is unavailable (EnvironmentError). */
  Unavailable: 69,
  /** Unexpected internal error (a bug: please report). */
  Internal: 70,
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
