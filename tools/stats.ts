// Shared by the simulation and the benchmarks: one percentile for both.

/**
 * The p-th percentile of `values` by nearest rank: the smallest value with at
 * least p% of the values at or below it. `values` need not be sorted. An
 * empty list has no percentile: the answer is `NaN`, never a made-up 0.
 *
 * @example
 * percentile([30, 10, 20, 40], 50); // 20
 * percentile([30, 10, 20, 40], 95); // 40
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] as number;
}

/**
 * The median: {@link percentile} 50 (the lower middle of an even count).
 *
 * @example
 * median([3, 1, 2]); // 2
 */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}
