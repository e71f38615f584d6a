import { trustedCaPem } from '../pki/ca-rotation.js';
import { stringify } from 'yaml';
import type { ClusterPlan, NodePlan } from '../model/plan.js';
import { renderKubeconfig } from '../pki/kubeconfig.js';
import type { ClusterPki } from '../pki/types.js';
import { CONTAINERD_SOCKET } from './containerd.js';
import { secretFile } from './control-plane-files.js';
import { PATHS } from './paths.js';
import type { ComponentBundle } from './types.js';
import { componentFlags, LB_CLIENT_ENVIRONMENT, unitFile } from './unit.js';
import { WORKER_FILES } from './worker-files.js';
import { UNIT } from './units.js';

/**
 * The kubelet configuration. Eviction thresholds are off: a laptop's full
 * disk should not evict a throw-away cluster's pods (kind does the same).
 * `failCgroupV1: false` keeps cgroup v1 hosts supported.
 */
export function renderKubeletConfig(plan: ClusterPlan, worker: NodePlan): string {
  return stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: WORKER_FILES.ca },
    },
    authorization: { mode: 'Webhook' },
    cgroupDriver: 'systemd',
    failCgroupV1: false,
    failSwapOn: false,
    containerRuntimeEndpoint: `unix://${CONTAINERD_SOCKET}`,
    clusterDomain: plan.clusterDomain,
    clusterDNS: [plan.dnsServiceIP],
    podCIDR: worker.podSubnet,
    tlsCertFile: WORKER_FILES.kubeletCert,
    tlsPrivateKeyFile: WORKER_FILES.kubeletKey,
    serializeImagePulls: false,
    imageGCHighThresholdPercent: 100,
    evictionHard: { 'memory.available': '0%', 'nodefs.available': '0%', 'nodefs.inodesFree': '0%', 'imagefs.available': '0%' },
    // The node's /etc/resolv.conf is Docker's; kc-entrypoint rewrites it to an address pods can reach.
    resolvConf: '/etc/resolv.conf',
    ...(Object.keys(plan.spec.featureGates).length > 0 ? { featureGates: plan.spec.featureGates } : {}),
  });
}

export const KUBELET_UNIT = UNIT.kubelet;

export function kubeletBundle(plan: ClusterPlan, worker: NodePlan, pki: ClusterPki): ComponentBundle {
  const cert = pki.kubelets[worker.name];
  if (!cert) throw new Error(`internal: no kubelet certificate for ${worker.name}`);
  const kubeconfig = renderKubeconfig({
    contextName: 'default',
    clusterName: plan.spec.name,
    userName: `system:node:${worker.name}`,
    server: plan.internalApiServerUrl,
    caPem: trustedCaPem(pki),
    certPem: cert.certPem,
    keyPem: cert.keyPem,
  });
  const command = [
    `${PATHS.bin}/kubelet`,
    ...componentFlags(plan.spec, 'kubelet', {
      config: WORKER_FILES.kubeletConfig,
      kubeconfig: WORKER_FILES.kubeletKubeconfig,
      'node-ip': worker.ip,
      'hostname-override': worker.name,
    }),
  ];
  return {
    files: [
      { path: WORKER_FILES.ca, content: trustedCaPem(pki) },
      { path: WORKER_FILES.kubeletCert, content: cert.certPem },
      secretFile(WORKER_FILES.kubeletKey, cert.keyPem),
      secretFile(WORKER_FILES.kubeletKubeconfig, kubeconfig),
      { path: WORKER_FILES.kubeletConfig, content: renderKubeletConfig(plan, worker) },
      unitFile(KUBELET_UNIT, {
        description: 'Kubernetes kubelet',
        command,
        requires: [UNIT.containerd],
        after: [UNIT.importImages],
        service: [...LB_CLIENT_ENVIRONMENT],
      }),
    ],
    units: [KUBELET_UNIT],
  };
}
