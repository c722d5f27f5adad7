// Limits as each tool spells them. All use binary mebibytes: Kubernetes `Mi`, Docker/Compose `m`
// (Docker's m is MiB), Go's GOMEMLIMIT `MiB`. Limits round up to a whole MiB; GOMEMLIMIT rounds
// down (it must stay under the container limit).
import { MiB } from '../model/units.ts';

export const mebibytesUp = (bytes: number): number => Math.max(1, Math.ceil(bytes / MiB));
export const mebibytesDown = (bytes: number): number => Math.max(1, Math.floor(bytes / MiB));

export const kubernetesQuantity = (bytes: number): string => `${mebibytesUp(bytes)}Mi`;
export const composeSize = (bytes: number): string => `${mebibytesUp(bytes)}m`;
export const goMemLimitValue = (bytes: number): string => `${mebibytesDown(bytes)}MiB`;

export function dockerUpdateCommand(limitBytes: number, reservationBytes: number | null, container = 'CONTAINER'): string {
  const reservation = reservationBytes !== null ? ` --memory-reservation ${composeSize(reservationBytes)}` : '';
  // --memory-swap equal to --memory: no swap on top, so the limit is the limit.
  return `docker update --memory ${composeSize(limitBytes)} --memory-swap ${composeSize(limitBytes)}${reservation} ${container}`;
}
