import { trustedCaPem } from '../pki/ca-rotation.js';
import type { ClusterPlan, NodePlan } from '../model/plan.js';
import { renderKubeconfig } from '../pki/kubeconfig.js';
import type { ClusterPki } from '../pki/types.js';
import { caFile, LOCAL_API_SERVER, MASTER_FILES, secretFile } from './control-plane-files.js';
import { PATHS } from './paths.js';
import type { ComponentBundle } from './types.js';
import { componentFlags, RESTART_SOON_SECONDS, unitFile } from './unit.js';
import { UNIT } from './units.js';

/**
 * kube-controller-manager on one master; leader election picks the one that
 * acts. It signs CSRs with the cluster CA, so the CA key goes to masters only.
 * Node pod ranges are kc's (one /24 per worker), not allocated here.
 */
export function controllerManagerBundle(plan: ClusterPlan, master: NodePlan, pki: ClusterPki): ComponentBundle {
  const kubeconfig = renderKubeconfig({
    contextName: 'default',
    clusterName: plan.spec.name,
    userName: 'system:kube-controller-manager',
    server: LOCAL_API_SERVER,
    caPem: trustedCaPem(pki),
    certPem: pki.kubeControllerManager.certPem,
    keyPem: pki.kubeControllerManager.keyPem,
  });
  const command = [
    `${PATHS.bin}/kube-controller-manager`,
    ...componentFlags(plan.spec, 'controllerManager', {
      'bind-address': '127.0.0.1',
      'cluster-name': plan.spec.name,
      kubeconfig: MASTER_FILES.controllerManagerKubeconfig,
      'authentication-kubeconfig': MASTER_FILES.controllerManagerKubeconfig,
      'authorization-kubeconfig': MASTER_FILES.controllerManagerKubeconfig,
      'leader-elect': true,
      'allocate-node-cidrs': false,
      'cluster-cidr': plan.spec.podSubnet,
      'service-cluster-ip-range': plan.spec.serviceSubnet,
      'cluster-signing-cert-file': MASTER_FILES.caSigningCert,
      'cluster-signing-key-file': MASTER_FILES.caKey,
      // Published to every namespace as kube-root-ca.crt: pods trust what the masters trust.
      'root-ca-file': MASTER_FILES.ca,
      'service-account-private-key-file': MASTER_FILES.serviceAccountPrivateKey,
      'use-service-account-credentials': true,
      // At its first start it creates a service account and a token for each
      // of its ~40 controllers, one after the other, through one client: at
      // the default 20 requests/s that alone took 5 s of every create.
      'kube-api-qps': 100,
      'kube-api-burst': 200,
    }),
  ];
  return {
    files: [
      caFile(pki),
      { path: MASTER_FILES.caSigningCert, content: pki.ca.certPem },
      secretFile(MASTER_FILES.caKey, pki.ca.keyPem),
      secretFile(MASTER_FILES.serviceAccountPrivateKey, pki.serviceAccount.privateKeyPem),
      secretFile(MASTER_FILES.controllerManagerKubeconfig, kubeconfig),
      unitFile(UNIT.controllerManager, {
        description: 'Kubernetes controller manager',
        command,
        after: [UNIT.apiServer],
        restartSeconds: RESTART_SOON_SECONDS,
      }),
    ],
    units: [UNIT.controllerManager],
  };
}
