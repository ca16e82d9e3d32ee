/**
 * Latency statistics of probe queries: nearest-rank percentiles of the measured run times, and the p95
 * regression against a previous assessment's baseline. Nearest rank (the smallest value with at least p % of
 * the runs at or below it) always returns a time that was actually measured, never an interpolation, which
 * is what an operator comparing two reports expects from 20 runs.
 *
 * Pure and deterministic: imported by workflow code.
 */

/** The p50, p95 and p99 of a set of durations, in the durations' unit (milliseconds). */
export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

/** The nearest-rank p-th percentile of ascending `sorted` (non-empty): `sorted[ceil(p/100 · n) − 1]`. */
function nearestRank(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? 0;
}

/**
 * Nearest-rank p50/p95/p99 of `durationsMs`. Values that are not finite numbers ≥ 0 (a failed timing) are
 * ignored; with nothing left every percentile is 0. The input array is not modified.
 */
export function percentiles(durationsMs: number[]): Percentiles {
  const sorted = durationsMs.filter((d) => Number.isFinite(d) && d >= 0).sort((a, b) => a - b);
  if (sorted.length === 0) return { p50: 0, p95: 0, p99: 0 };
  return { p50: nearestRank(sorted, 50), p95: nearestRank(sorted, 95), p99: nearestRank(sorted, 99) };
}

/**
 * The change from `before` to `now` in percent of `before`, to one decimal: 10 → 12 is 20, 10 → 8 is −20.
 * Undefined when there is no usable baseline (`before` ≤ 0 or either value not finite).
 */
export function regressionPct(now: number, before: number): number | undefined {
  if (!Number.isFinite(now) || !Number.isFinite(before) || before <= 0) return undefined;
  return Math.round(((now - before) / before) * 1000) / 10;
}
