import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';

/**
 * Locks between kc processes (and kubectl) on one host, from
 * `proper-lockfile`: a lock is a `<file>.lock` folder made with mkdir, which
 * is atomic on every local file system, kept fresh while held and taken over
 * once stale (its holder died), so a crashed kc never blocks the next one.
 * `<file>.lock` is also the name kubectl (client-go) and kind lock a
 * kubeconfig by, so a kubeconfig merge excludes them too.
 */

/** How long a lock whose holder stopped refreshing it stays respected. */
export const STALE_MS = 30_000;

export interface LockOptions {
  /** What to say when the lock stays taken: who holds it, what to do. */
  busyMessage: string;
  /** How long to keep trying before giving up with busyMessage. */
  waitMs: number;
}

/** A lock another kc process holds for longer than the caller can wait. */
export class LockBusyError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LockBusyError';
  }
}

/** Runs `work` holding the lock of `path` (which need not exist); releases it whatever happens. */
export async function withFileLock<T>(path: string, options: LockOptions, work: () => Promise<T>): Promise<T> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const intervalMs = 100;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(path, {
      realpath: false,
      stale: STALE_MS,
      retries: { retries: Math.ceil(options.waitMs / intervalMs), minTimeout: intervalMs, maxTimeout: intervalMs, factor: 1 },
      // Losing a lock mid-way (the host stalled for longer than STALE_MS) is worth a warning, not a crash.
      onCompromised: (error) => process.stderr.write(`WARNING: the lock on ${path} was lost: ${error.message}\n`),
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') throw new LockBusyError(options.busyMessage, { cause: error });
    throw error;
  }
  try {
    return await work();
  } finally {
    await release().catch(() => undefined);
  }
}

/** Whether another process holds the lock of `path` now (a stale lock counts as free). For messages only: it may change at once. */
export async function isLocked(path: string): Promise<boolean> {
  return lockfile.check(path, { realpath: false, stale: STALE_MS }).catch(() => false);
}
