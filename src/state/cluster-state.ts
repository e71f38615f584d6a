import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClusterPki } from '../pki/types.js';
import { stateDir } from '../util/paths.js';
import type { ClusterPlan } from '../model/plan.js';

/** What kc keeps about a cluster between commands: enough to export kubeconfigs and delete it. */
export interface ClusterState {
  plan: ClusterPlan;
  pki: ClusterPki;
  /** Host port the API server is published on (chosen by Docker when the user did not pick one). */
  apiServerHostPort?: number;
  /** Kubeconfig file kc merged the admin context into, so delete can remove it again. */
  kubeconfigPath?: string;
  createdAt: string;
}

export function clusterStateDir(name: string): string {
  return join(stateDir(), 'clusters', name);
}

/** Written with mode 0600 in a 0700 folder: it holds every private key of the cluster. */
export async function saveState(state: ClusterState): Promise<void> {
  const dir = clusterStateDir(state.plan.spec.name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const file = join(dir, 'cluster.json');
  await writeFile(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
}

export async function loadState(name: string): Promise<ClusterState | undefined> {
  try {
    return JSON.parse(await readFile(join(clusterStateDir(name), 'cluster.json'), 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

export async function removeState(name: string): Promise<void> {
  await rm(clusterStateDir(name), { recursive: true, force: true });
}

export async function listStateNames(): Promise<string[]> {
  try {
    return (await readdir(join(stateDir(), 'clusters'))).sort();
  } catch {
    return [];
  }
}
