import { MemauditError } from '../../../errors.ts';

/**
 * The API server answered with an error Status. `status` is the HTTP code; `reason` the Status
 * reason (NotFound, Conflict, Forbidden, ...). 5xx and 429 are worth retrying, 4xx are not.
 */
export class KubeApiError extends MemauditError {
  override name = 'KubeApiError' as const;
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
    this.reason = reason;
  }
}

const isKubeApiError = (e: unknown): e is KubeApiError => e instanceof KubeApiError;
export const isNotFound = (e: unknown): boolean => isKubeApiError(e) && e.status === 404;
export const isConflict = (e: unknown): boolean => isKubeApiError(e) && e.status === 409;
