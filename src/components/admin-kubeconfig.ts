import { trustedCaPem } from '../pki/ca-rotation.js';
import { API_SERVER_PORT, type ClusterPlan } from '../model/plan.js';
import { renderKubeconfig } from '../pki/kubeconfig.js';
import type { ClusterPki } from '../pki/types.js';
import { PATHS } from './paths.js';
import type { NodeFile } from './types.js';

/** Where kc puts the admin kubeconfig on every master, to run kubectl there. */
export const ADMIN_KUBECONFIG_ON_NODE = `${PATHS.kubeconfigs}/admin.kubeconfig`;

/**
 * The admin kubeconfig on a master (the pod network, add-ons and node changes
 * run kubectl there): kubectl talks to that master's own API server. Every
 * master has it, so another runs kubectl once the first is gone.
 */
export function adminKubeconfigFile(plan: ClusterPlan, pki: ClusterPki): NodeFile {
  const content = renderKubeconfig({
    contextName: 'admin',
    clusterName: plan.spec.name,
    userName: 'admin',
    server: `https://127.0.0.1:${API_SERVER_PORT}`,
    caPem: trustedCaPem(pki),
    certPem: pki.admin.certPem,
    keyPem: pki.admin.keyPem,
  });
  return { path: ADMIN_KUBECONFIG_ON_NODE, content, mode: 0o600 };
}
