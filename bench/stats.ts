/** Min, median and max of a set of measurements (seconds, MiB, ...). */
export interface Spread {
  min: number;
  median: number;
  max: number;
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new Error('no measurements to summarize');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { min: sorted[0] as number, median, max: sorted[sorted.length - 1] as number };
}

/** Per key, the spread of its values over several runs (keys in first-seen order). */
export function spreadByKey(runs: ReadonlyArray<Record<string, number>>): Record<string, Spread> {
  const keys = [...new Set(runs.flatMap((run) => Object.keys(run)))];
  return Object.fromEntries(keys.map((key) => [key, spread(runs.map((run) => run[key]).filter((v): v is number => v !== undefined))]));
}

export function formatSpread(s: Spread, digits = 1): string {
  return `${s.min.toFixed(digits).padStart(6)} ${s.median.toFixed(digits).padStart(6)} ${s.max.toFixed(digits).padStart(6)}`;
}

/** The number of runs per shape from the environment: a positive integer, 3 when unset. */
export function runCount(value: string | undefined): number {
  if (value === undefined || value === '') return 3;
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1) throw new Error(`KC_BENCH_RUNS=${value}: give a whole number of runs per shape, 1 or more (default 3)`);
  return count;
}
