import { stringify } from 'yaml';
import { podImagesFor } from '../artifacts/manifest.js';
import type { ClusterPlan } from '../model/plan.js';

/**
 * kc's cloud controller (images/cloud-controller/main.go), part of the
 * load-balancer add-on beside MetalLB: Kubernetes' own service controller,
 * which gives a LoadBalancer Service the lifecycle it has on a cloud. It adds
 * the `service.kubernetes.io/load-balancer-cleanup` finalizer when the
 * Service asks for a load balancer and removes it once the load balancer is
 * released (the type changed, or the Service is being deleted), as a cloud
 * controller manager does (kind's cloud-provider-kind too). MetalLB assigns
 * and releases the addresses; the controller leaves the status to it.
 *
 * One replica, replaced rather than rolled (two would race on the same
 * finalizers), in MetalLB's namespace: it goes and comes with the add-on.
 */
export const CLOUD_CONTROLLER = 'kc-cloud-controller';
export const LOAD_BALANCER_CLEANUP_FINALIZER = 'service.kubernetes.io/load-balancer-cleanup';

export function cloudControllerManifest(plan: ClusterPlan, namespace: string): string {
  const image = podImagesFor(plan.release).cloudController;
  const labels = { app: CLOUD_CONTROLLER };
  const documents: object[] = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: CLOUD_CONTROLLER, namespace, labels } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: `kc:${CLOUD_CONTROLLER}`, labels },
      rules: [
        // The service controller's own needs: Services (their finalizers are patched), their status, the nodes it watches, its events.
        { apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'watch', 'patch', 'update'] },
        { apiGroups: [''], resources: ['services/status'], verbs: ['patch', 'update'] },
        { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch', 'update'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `kc:${CLOUD_CONTROLLER}`, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `kc:${CLOUD_CONTROLLER}` },
      subjects: [{ kind: 'ServiceAccount', name: CLOUD_CONTROLLER, namespace }],
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: CLOUD_CONTROLLER, namespace, labels },
      spec: {
        replicas: 1,
        strategy: { type: 'Recreate' },
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: CLOUD_CONTROLLER,
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            terminationGracePeriodSeconds: 5,
            securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534 },
            containers: [{
              name: CLOUD_CONTROLLER,
              image,
              imagePullPolicy: 'IfNotPresent',
              args: [`--cluster-name=${plan.spec.name}`],
              resources: { requests: { cpu: '5m', memory: '20Mi' } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
            }],
          },
        },
      },
    },
  ];
  return documents.map((doc) => stringify(doc)).join('---\n');
}
