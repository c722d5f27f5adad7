// Byte and time units. Conversions are named xFromY and clamp what cannot be negative.
export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/**
 * A size as Docker reads it (`docker run --memory`, Compose's `mem_limit`: go-units RAMInBytes):
 * binary whatever the case, with an optional `i` and `b`: "512m" = "512M" = "512MiB" = "512mb" =
 * 512 MiB; "1.5g"; "65536" bytes. null when it is not one.
 */
export function bytesFromDockerSize(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp])?(i?)(b?)$/i.exec(text.trim());
  if (!m) return null;
  const power = m[2] === undefined ? 0 : 'kmgtp'.indexOf(m[2].toLowerCase()) + 1;
  if (power === 0 && m[3] !== '') return null; // "64i"
  return Math.round(Number(m[1]) * KiB ** power);
}

const QUANTITY_SUFFIX: Record<string, number> = { '': 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: KiB, Mi: MiB, Gi: GiB, Ti: GiB * KiB, Pi: GiB * MiB, Ei: GiB * GiB };

/**
 * A Kubernetes quantity in bytes (resources.limits.memory, chart values): "512Mi" = 512 MiB,
 * "512M" = 512,000,000, "1.5Gi", "1e9", "512m" = 0.512 (milli: a classic slip for a memory
 * value, which the caller refuses). The grammar of k8s.io/apimachinery's resource.Quantity; null
 * when it is not one. (@kubernetes/client-node's quantityToScalar is not exported by the package
 * and throws on fractions such as "1.5Gi".)
 */
export function bytesFromKubernetesQuantity(text: string): number | null {
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!m) return null;
  const n = Number(m[1]);
  return m[3] !== undefined ? n * 10 ** Number(m[3]) : n * QUANTITY_SUFFIX[m[2] ?? '']!;
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
