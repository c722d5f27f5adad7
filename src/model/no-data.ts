/**
 * "Nothing to report" from a source: a container absent from a scrape, a stopped container, a
 * process that exited. A typed non-error (node_exporter's ErrNoData), so callers branch on it
 * instead of catching.
 */
export interface NoData {
  kind: 'noData';
  reason: string;
}

export const noData = (reason: string): NoData => ({ kind: 'noData', reason });
export const isNoData = (v: unknown): v is NoData => typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'noData';
