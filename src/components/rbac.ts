import { stringify } from 'yaml';
import { API_SERVER_KUBELET_CLIENT_USER } from '../pki/cluster-pki.js';

const ROLE_NAME = 'system:kube-apiserver-to-kubelet';

/**
 * Lets the API servers use the kubelet API (logs, exec, attach,
 * port-forward, metrics): kubelets authorize every request by webhook, and
 * the API servers present the `kube-apiserver` client certificate.
 */
export function apiServerToKubeletRbac(): string {
  const role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: ROLE_NAME, labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } },
    rules: [
      {
        apiGroups: [''],
        resources: ['nodes/proxy', 'nodes/stats', 'nodes/log', 'nodes/spec', 'nodes/metrics', 'nodes/configz', 'nodes/healthz', 'nodes/pods'],
        verbs: ['*'],
      },
    ],
  };
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: ROLE_NAME },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: ROLE_NAME },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: API_SERVER_KUBELET_CLIENT_USER }],
  };
  return [role, binding].map((doc) => stringify(doc)).join('---\n');
}
