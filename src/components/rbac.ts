import { stringify } from 'yaml';
import { API_SERVER_KUBELET_CLIENT_USER } from '../pki/cluster-pki.js';

const ROLE_NAME = 'system:kube-apiserver-to-kubelet';

/**
 * Lets the API servers use the kubelet API (logs, exec, attach,
 * port-forward, metrics): kubelets authorize every request by webhook, and
 * the API servers present the `kube-apiserver` client certificate.
 */
export function apiServerToKubeletRbac(): string {
  return clusterRoleForUser(
    ROLE_NAME,
    API_SERVER_KUBELET_CLIENT_USER,
    [
      {
        apiGroups: [''],
        resources: ['nodes/proxy', 'nodes/stats', 'nodes/log', 'nodes/spec', 'nodes/metrics', 'nodes/configz', 'nodes/healthz', 'nodes/pods'],
        verbs: ['*'],
      },
    ],
    { 'kubernetes.io/bootstrapping': 'rbac-defaults' },
  );
}

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** A ClusterRole with these rules, bound to one user (a component's client certificate CN), as one YAML stream. */
export function clusterRoleForUser(name: string, user: string, rules: PolicyRule[], labels?: Record<string, string>): string {
  const role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: labels ? { name, labels } : { name },
    rules,
  };
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
  };
  return [role, binding].map((doc) => stringify(doc)).join('---\n');
}
