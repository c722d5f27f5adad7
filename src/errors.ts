/**
 * One error base class for everything memaudit raises on purpose. Subclasses carry a literal
 * `name` so callers can branch with the type guards below instead of string matching, and the CLI
 * maps each kind to its own exit code (see src/cli/exit-codes.ts). Rethrow at boundaries with
 * `{ cause }` so the original error is not lost.
 */
export class MemauditError extends Error {
  override name = 'MemauditError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Input that cannot be understood: a file, a line, a field. Names the input and what was expected. */
export class InputError extends MemauditError {
  override name = 'InputError' as const;
  readonly source: string;
  readonly line: number | undefined;
  constructor(source: string, message: string, options?: ErrorOptions & { line?: number }) {
    super(`${source}${options?.line !== undefined ? `:${options.line}` : ''}: ${message}`, options);
    this.source = source;
    this.line = options?.line;
  }
}

/** Bad command-line usage or configuration. */
export class UsageError extends MemauditError {
  override name = 'UsageError' as const;
}

/** The system cannot do what was asked (no cgroup permission, no memory controller, daemon down). */
export class EnvironmentError extends MemauditError {
  override name = 'EnvironmentError' as const;
}

/** A remote endpoint failed or timed out; worth retrying. */
export class TransientError extends MemauditError {
  override name = 'TransientError' as const;
}

export const isMemauditError = (e: unknown): e is MemauditError => e instanceof MemauditError;
export const isInputError = (e: unknown): e is InputError => e instanceof InputError;
export const isUsageError = (e: unknown): e is UsageError => e instanceof UsageError;
export const isEnvironmentError = (e: unknown): e is EnvironmentError => e instanceof EnvironmentError;
