// Byte and time units. Conversions are named xFromY and clamp what cannot be negative.
export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** "64m", "64M", "64Mi", "64MiB", "1.5g", "512k", "1048576" -> bytes (binary units, as Docker and Kubernetes' Mi do). */
export function bytesFromSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$/i.exec(text);
  if (!m) return null;
  const n = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  const mult = unit === 'k' ? KiB : unit === 'm' ? MiB : unit === 'g' ? GiB : unit === 't' ? GiB * 1024 : 1;
  if (unit === '' && m[3] !== '' && m[3]!.toLowerCase() !== 'b') return null;
  return Math.round(n * mult);
}

/** "30s", "5m", "1h30m", "250ms", "2d" -> seconds. */
export function secondsFromDuration(text: string): number | null {
  const t = text.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(t)) return null;
  let total = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) {
    const n = Number(m[1]);
    total += m[2] === 'ms' ? n / 1000 : m[2] === 's' ? n : m[2] === 'm' ? n * 60 : m[2] === 'h' ? n * 3600 : n * 86400;
  }
  return total;
}

/** Human-readable bytes: "512 B", "12.3 KiB", "48.0 MiB", "1.25 GiB". */
export function formatBytes(bytes: number): string {
  const sign = bytes < 0 ? '-' : '';
  const b = Math.abs(bytes);
  if (b < KiB) return `${sign}${Math.round(b)} B`;
  if (b < MiB) return `${sign}${(b / KiB).toFixed(1)} KiB`;
  if (b < GiB) return `${sign}${(b / MiB).toFixed(1)} MiB`;
  return `${sign}${(b / GiB).toFixed(2)} GiB`;
}

/** A rate in the unit that reads best: "+2.3 MiB/min", "+40.0 MiB/h", "+1.2 GiB/day". */
export function formatRate(bytesPerHour: number): string {
  const sign = bytesPerHour > 0 ? '+' : bytesPerHour < 0 ? '-' : '';
  const b = Math.abs(bytesPerHour);
  if (b >= 60 * MiB) return `${sign}${formatBytes(b / 60)}/min`;
  if (b >= 24 * KiB || b === 0) return `${sign}${formatBytes(b)}/h`;
  return `${sign}${formatBytes(b * 24)}/day`;
}

/** Seconds as "45s", "12m", "3h12m", "4d6h". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'never';
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  const d = Math.floor(h / 24);
  return `${d}d${h % 24}h`;
}
