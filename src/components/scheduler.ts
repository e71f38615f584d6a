import { trustedCaPem } from '../pki/ca-rotation.js';
import { stringify } from 'yaml';
import type { ClusterPlan, NodePlan } from '../model/plan.js';
import { renderKubeconfig } from '../pki/kubeconfig.js';
import type { ClusterPki } from '../pki/types.js';
import { LOCAL_API_SERVER, MASTER_FILES, secretFile } from './control-plane-files.js';
import { PATHS } from './paths.js';
import type { ComponentBundle } from './types.js';
import { componentFlags, RESTART_SOON_SECONDS, unitFile } from './unit.js';
import { UNIT } from './units.js';

/** kube-scheduler on one master, configured by file; leader election picks the one that schedules. */
export function schedulerBundle(plan: ClusterPlan, _master: NodePlan, pki: ClusterPki): ComponentBundle {
  const kubeconfig = renderKubeconfig({
    contextName: 'default',
    clusterName: plan.spec.name,
    userName: 'system:kube-scheduler',
    server: LOCAL_API_SERVER,
    caPem: trustedCaPem(pki),
    certPem: pki.kubeScheduler.certPem,
    keyPem: pki.kubeScheduler.keyPem,
  });
  const config = stringify({
    apiVersion: 'kubescheduler.config.k8s.io/v1',
    kind: 'KubeSchedulerConfiguration',
    clientConnection: { kubeconfig: MASTER_FILES.schedulerKubeconfig },
    leaderElection: { leaderElect: true },
  });
  const command = [
    `${PATHS.bin}/kube-scheduler`,
    ...componentFlags(plan.spec, 'scheduler', {
      config: MASTER_FILES.schedulerConfig,
      'bind-address': '127.0.0.1',
      'authentication-kubeconfig': MASTER_FILES.schedulerKubeconfig,
      'authorization-kubeconfig': MASTER_FILES.schedulerKubeconfig,
    }),
  ];
  return {
    files: [
      secretFile(MASTER_FILES.schedulerKubeconfig, kubeconfig),
      { path: MASTER_FILES.schedulerConfig, content: config },
      unitFile(UNIT.scheduler, { description: 'Kubernetes scheduler', command, after: [UNIT.apiServer], restartSeconds: RESTART_SOON_SECONDS }),
    ],
    units: [UNIT.scheduler],
  };
}
