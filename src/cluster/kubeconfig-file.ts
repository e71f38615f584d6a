import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { mergeKubeconfig, removeFromKubeconfig, type KubeconfigEntry } from '../pki/kubeconfig.js';
import { hostApiServerUrl } from './api.js';
import type { ClusterState } from './state.js';

/** The kubeconfig file kubectl would use: the first of $KUBECONFIG, else ~/.kube/config. */
export function defaultKubeconfigPath(): string {
  const fromEnv = process.env.KUBECONFIG?.split(':').find(Boolean);
  return fromEnv ?? join(homedir(), '.kube', 'config');
}

export function contextName(cluster: string): string {
  return `kc-${cluster}`;
}

/** Adds or replaces kc's context in a kubeconfig file (mode 0600), leaving every other entry alone. */
export async function mergeIntoKubeconfigFile(path: string, entry: KubeconfigEntry): Promise<void> {
  const existing = await readFile(path, 'utf8').catch(() => undefined);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, mergeKubeconfig(existing, entry), { mode: 0o600 });
  await chmod(path, 0o600);
}

/** Removes kc's context (and its cluster and user) from a kubeconfig file, if the file has it. */
export async function removeFromKubeconfigFile(path: string, context: string): Promise<boolean> {
  const existing = await readFile(path, 'utf8').catch(() => undefined);
  if (existing === undefined) return false;
  const { text, removed } = removeFromKubeconfig(existing, context);
  if (removed) await writeFile(path, text, { mode: 0o600 });
  return removed;
}

/** The admin kubeconfig entry, for the host (published port) or for containers on the cluster network. */
export function adminEntry(state: ClusterState, internal: boolean): KubeconfigEntry {
  const context = contextName(state.plan.spec.name);
  const server = internal
    ? state.plan.internalApiServerUrl
    : hostApiServerUrl(state.plan.spec.apiServerAddress, state.apiServerHostPort ?? 0);
  return {
    contextName: context,
    clusterName: context,
    userName: context,
    server,
    caPem: state.pki.ca.certPem,
    certPem: state.pki.admin.certPem,
    keyPem: state.pki.admin.keyPem,
  };
}

