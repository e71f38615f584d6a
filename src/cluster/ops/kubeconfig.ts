import { trustedCaPem } from '../../pki/ca-rotation.js';
import type { KubeconfigEntry } from '../../pki/kubeconfig.js';
import { loadState, saveState, withKubeconfigPath, type ClusterState } from '../../state/cluster-state.js';
import { contextName, mergeIntoKubeconfigFile } from '../../state/kubeconfig-file.js';
import { withClusterLock } from '../../state/lock.js';
import { UsageError } from '../../util/errors.js';
import { hostApiServerUrl } from '../kube/api.js';

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
    caPem: trustedCaPem(state.pki),
    certPem: state.pki.admin.certPem,
    keyPem: state.pki.admin.keyPem,
  };
}

/** A cluster's state, or a usage error when kc knows no such cluster. */
export async function existingState(name: string): Promise<ClusterState> {
  const state = await loadState(name);
  if (!state) throw new UsageError(`no cluster named "${name}": kc get clusters lists them`);
  return state;
}

/**
 * `kc export kubeconfig`: merges the admin context into one more file, and
 * records that file (first), so that `kc delete cluster` cleans every file
 * the context went to.
 */
export async function exportKubeconfig(name: string, path: string): Promise<void> {
  await withClusterLock(name, async () => {
    const state = await existingState(name);
    await saveState(withKubeconfigPath(state, path));
    await mergeIntoKubeconfigFile(path, adminEntry(state, false));
  });
}
