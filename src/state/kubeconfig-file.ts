import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { mergeKubeconfig, removeFromKubeconfig, type KubeconfigEntry } from '../pki/kubeconfig.js';
import { withFileLock } from './lock.js';

/** The kubeconfig file kubectl would use: the first of $KUBECONFIG, else ~/.kube/config. */
export function defaultKubeconfigPath(): string {
  const fromEnv = process.env.KUBECONFIG?.split(':').find(Boolean);
  return fromEnv ?? join(homedir(), '.kube', 'config');
}

export function contextName(cluster: string): string {
  return `kc-${cluster}`;
}

/** How long a merge waits for another writer (kc, kubectl, kind) of the same kubeconfig file. */
const KUBECONFIG_LOCK_WAIT_MS = 30_000;

/**
 * Read, change and write a kubeconfig file as one step: under its lock (so two
 * kc processes merging at once both land), and written atomically with mode
 * 0600 (so a crash never leaves half a file).
 */
async function changeKubeconfigFile(path: string, change: (existing: string | undefined) => string | undefined): Promise<boolean> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const busyMessage =
    `another program holds the lock of ${path} (${path}.lock) for more than ${KUBECONFIG_LOCK_WAIT_MS / 1000}s: ` +
    'if none is running, remove that folder and try again';
  return withFileLock(path, { waitMs: KUBECONFIG_LOCK_WAIT_MS, busyMessage }, async () => {
    const existing = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    const text = change(existing);
    if (text === undefined) return false;
    await writeFileAtomic(path, text, { mode: 0o600 });
    await chmod(path, 0o600);
    return true;
  });
}

/** Adds or replaces kc's context in a kubeconfig file (mode 0600), leaving every other entry alone. */
export async function mergeIntoKubeconfigFile(path: string, entry: KubeconfigEntry): Promise<void> {
  await changeKubeconfigFile(path, (existing) => mergeKubeconfig(existing, entry));
}

/** Removes kc's context (and its cluster and user) from a kubeconfig file, if the file has it. */
export async function removeFromKubeconfigFile(path: string, context: string): Promise<boolean> {
  // Nothing to remove from a file that is not there, and no folder to create for it.
  if (!existsSync(path)) return false;
  return changeKubeconfigFile(path, (existing) => {
    if (existing === undefined) return undefined;
    const { text, removed } = removeFromKubeconfig(existing, context);
    return removed ? text : undefined;
  });
}
