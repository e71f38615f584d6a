import { trustedCaPem } from '../pki/ca-rotation.js';
import { stringify } from 'yaml';
import type { ClusterPlan, NodePlan } from '../model/plan.js';
import { renderKubeconfig } from '../pki/kubeconfig.js';
import type { ClusterPki } from '../pki/types.js';
import { LOCAL_API_SERVER, secretFile } from './control-plane-files.js';
import { PATHS } from './paths.js';
import type { ComponentBundle } from './types.js';
import { componentFlags, LB_CLIENT_ENVIRONMENT, unitFile } from './unit.js';
import { WORKER_FILES } from './worker-files.js';
import { UNIT } from './units.js';

/**
 * kube-proxy in the chosen mode (iptables by default). `conntrack.maxPerCore: 0` leaves the host's
 * conntrack table alone: the sysctl is not writable from a container. `bindAddress` names the
 * node's address: masters have no Node object to read it from.
 */
export function renderKubeProxyConfig(plan: ClusterPlan, node: NodePlan): string {
  return stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig: WORKER_FILES.kubeProxyKubeconfig },
    mode: plan.spec.kubeProxyMode,
    clusterCIDR: plan.spec.podSubnet,
    hostnameOverride: node.name,
    bindAddress: node.ip,
    conntrack: { maxPerCore: 0 },
    ...(Object.keys(plan.spec.featureGates).length > 0 ? { featureGates: plan.spec.featureGates } : {}),
  });
}

export const KUBE_PROXY_UNIT = UNIT.kubeProxy;

/**
 * kube-proxy on a worker, or on a master (as on kubeadm's control-plane
 * nodes): there it makes Service addresses work for whatever runs on the
 * master, and talks to its own API server rather than through the lb.
 */
export function kubeProxyBundle(plan: ClusterPlan, node: NodePlan, pki: ClusterPki): ComponentBundle {
  const kubeconfig = renderKubeconfig({
    contextName: 'default',
    clusterName: plan.spec.name,
    userName: 'system:kube-proxy',
    server: node.role === 'master' ? LOCAL_API_SERVER : plan.internalApiServerUrl,
    caPem: trustedCaPem(pki),
    certPem: pki.kubeProxy.certPem,
    keyPem: pki.kubeProxy.keyPem,
  });
  return {
    files: [
      secretFile(WORKER_FILES.kubeProxyKubeconfig, kubeconfig),
      { path: WORKER_FILES.kubeProxyConfig, content: renderKubeProxyConfig(plan, node) },
      unitFile(KUBE_PROXY_UNIT, {
        description: 'Kubernetes network proxy',
        command: [`${PATHS.bin}/kube-proxy`, ...componentFlags(plan.spec, 'kubeProxy', { config: WORKER_FILES.kubeProxyConfig })],
        service: [...LB_CLIENT_ENVIRONMENT],
      }),
    ],
    units: [KUBE_PROXY_UNIT],
  };
}
