import { join } from 'node:path';
import { stateDir } from '../util/paths.js';
import { STALE_MS, withFileLock } from '../util/file-lock.js';

export { LockBusyError, withFileLock } from '../util/file-lock.js';

/** Where the lock of one cluster lives (beside, not inside, its state folder: delete removes that). */
export function clusterLockPath(cluster: string): string {
  return join(stateDir(), 'locks', cluster);
}

/** How long a kc command waits for another one working on the same cluster before it gives up. */
export const CLUSTER_LOCK_WAIT_MS = 3_000;

/**
 * Runs `work` as the only kc process changing this cluster (create, delete,
 * node changes, stop, start, export kubeconfig): two of them at once would
 * interleave containers, etcd membership, state and kubeconfig entries.
 */
export function withClusterLock<T>(cluster: string, work: () => Promise<T>, waitMs = CLUSTER_LOCK_WAIT_MS): Promise<T> {
  return withFileLock(
    clusterLockPath(cluster),
    {
      waitMs,
      busyMessage:
        `another kc command is changing cluster "${cluster}" right now (creating, deleting, adding or removing nodes, stopping or starting it): ` +
        `wait for it to finish and try again. If no kc command is running, the lock (${clusterLockPath(cluster)}.lock) ` +
        `goes stale by itself within ${STALE_MS / 1000}s.`,
    },
    work,
  );
}

/**
 * Runs `work` as the only kc process changing the shared registry of a port:
 * two creates would both make it, a delete would remove it under a create
 * that has just attached to it. Held for a moment (an attach, a detach).
 */
export function withRegistryLock<T>(port: number, work: () => Promise<T>): Promise<T> {
  const path = join(stateDir(), 'locks', `registry-${port}`);
  return withFileLock(
    path,
    {
      waitMs: 60_000,
      busyMessage: `another kc command has been changing the registry of port ${port} for a minute: if none is running, the lock (${path}.lock) goes stale by itself within ${STALE_MS / 1000}s.`,
    },
    work,
  );
}
