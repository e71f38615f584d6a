import { messageOf } from './errors.js';

/**
 * Parallel work that never leaks (kind's `errors.AggregateConcurrent`): every
 * task runs to its end before the caller hears of any failure, and every
 * failure is reported, not the first alone. `Promise.all` rejects at the first
 * failure while its siblings go on unseen: an undo could then run beside a
 * change still being made (etcd data put back under a restore still writing
 * it), and a second failure was never told. A lint rule (eslint.config.js)
 * keeps `Promise.all` and `Promise.allSettled` out of the code that changes
 * nodes; this module is the one place that uses them.
 */

/** Several parallel tasks failed: each one's error, in the order of the tasks. */
export class ConcurrentError extends Error {
  constructor(readonly errors: readonly unknown[]) {
    super(`${errors.length} tasks failed:\n  ${errors.map((e) => messageOf(e).replace(/\n/g, '\n    ')).join('\n  ')}`, { cause: errors[0] });
    this.name = 'ConcurrentError';
  }
}

/**
 * The values of settled tasks; one failure thrown as it is (its type and
 * message kept), several as a ConcurrentError. Failures that say the same
 * (one engine that does not answer, asked twice) are one failure.
 */
function valuesOrThrow<T>(settled: readonly PromiseSettledResult<T>[]): T[] {
  const failures = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => s.reason as unknown);
  const errors = failures.filter((error, i) => failures.findIndex((other) => messageOf(other) === messageOf(error)) === i);
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new ConcurrentError(errors);
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/** Runs `work` on every item at once; waits for all of them, then returns their results or reports every failure. */
export async function concurrently<T, R>(items: readonly T[], work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  // Each task starts inside its own promise: one that throws before its first await is a failure like any other.
  return valuesOrThrow(await Promise.allSettled(items.map(async (item, index) => work(item, index))));
}

/**
 * Waits for every one of these (already started) promises, then returns
 * their values in order, or reports every failure: `Promise.all`'s shape,
 * without its early exit.
 */
export async function awaitAll<T extends readonly unknown[]>(promises: readonly [...{ [K in keyof T]: PromiseLike<T[K]> }]): Promise<T> {
  return valuesOrThrow(await Promise.allSettled(promises as readonly PromiseLike<unknown>[])) as unknown as T;
}
