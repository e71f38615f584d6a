import { stringify } from 'yaml';
import { podImagesFor } from '../artifacts/manifest.js';
import { BRIDGE_NAME } from './cni-bridge.js';
import { cloudControllerManifest } from './cloud-controller.js';
import { loadBalancerRange, type ClusterPlan } from '../model/plan.js';
import { vendoredManifest, type VendoredManifest } from './vendored.js';

/**
 * MetalLB in layer-2 mode, for Services of `type: LoadBalancer`: the
 * controller gives each such Service an address from the top of the cluster's
 * Docker network (model/plan.ts loadBalancerRange), and the speaker on one
 * worker answers ARP for it. The host is on that network (its bridge is the
 * gateway), so it reaches the address directly, as does every container on
 * the network; the worker's kube-proxy rules take the packet to a pod. Nothing
 * leaves the host: the addresses are the bridge's own subnet.
 *
 * Upstream's manifest (config/manifests/metallb-native.yaml) with three changes:
 * - No validating webhook (`--webhook-mode=disabled`): with it, applying the
 *   address pool would wait for the controller pod to serve the webhook, and
 *   create does not wait for add-ons. kc writes the only pool; a user's own
 *   resources are checked by the controller when it reads them.
 * - No memberlist between speakers: it detects a dead node faster than the
 *   node's Ready condition does, which a cluster on one host does not need,
 *   and it needs a shared secret and a port on every node.
 * - The CRDs without their conversion webhook (the generated bases, see
 *   manifests/metallb/): only BGPPeer has two versions, and kc uses no BGP.
 */
export const METALLB_NAMESPACE = 'metallb-system';
export const METALLB_CONTROLLER = 'controller';
const SPEAKER = 'speaker';
/** kc's pool and its layer-2 announcement: what `kubectl get ipaddresspools -n metallb-system` shows. */
export const METALLB_POOL = 'kc-pool';
/** HTTP metrics, upstream's port; the probes read it. The speaker's is on its node (host network). */
const MONITORING_PORT = 7472;
/** The CRDs the custom resources below need, established before those are applied. */
export const METALLB_CRDS = ['ipaddresspools.metallb.io', 'l2advertisements.metallb.io'];

const UPSTREAM_EXCLUDED_INTERFACES = [
  '^docker.*', '^cbr.*', '^dummy.*', '^virbr.*', '^lxcbr.*', '^veth.*', '^lo$', '^cali.*', '^tunl.*', '^flannel.*', '^kube-ipvs.*', '^cni.*', '^nodelocaldns.*',
];

const labels = (component: string) => ({ app: 'metallb', component });
const GET_LIST_WATCH = ['get', 'list', 'watch'];

function readOnly(apiGroup: string, resources: string[]): object {
  return { apiGroups: [apiGroup], resources, verbs: GET_LIST_WATCH };
}

function serviceAccount(name: string): object {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: METALLB_NAMESPACE, labels: { app: 'metallb' } } };
}

function binding(kind: 'RoleBinding' | 'ClusterRoleBinding', name: string, role: string, account: string): object {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind,
    metadata: { name, ...(kind === 'RoleBinding' ? { namespace: METALLB_NAMESPACE } : {}), labels: { app: 'metallb' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: kind === 'RoleBinding' ? 'Role' : 'ClusterRole', name: role },
    subjects: [{ kind: 'ServiceAccount', name: account, namespace: METALLB_NAMESPACE }],
  };
}

/** Upstream's roles, less what the webhook and memberlist need. */
function rbac(): object[] {
  const metallbConfig = readOnly('metallb.io', ['bgppeers', 'bfdprofiles', 'ipaddresspools', 'bgpadvertisements', 'l2advertisements', 'communities']);
  const role = (name: string, rules: object[]) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name, namespace: METALLB_NAMESPACE, labels: { app: 'metallb' } },
    rules,
  });
  const clusterRole = (name: string, rules: object[]) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name, labels: { app: 'metallb' } },
    rules,
  });
  const events = { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] };
  return [
    serviceAccount(METALLB_CONTROLLER),
    serviceAccount(SPEAKER),
    role(METALLB_CONTROLLER, [
      readOnly('', ['secrets']),
      { apiGroups: ['apps'], resources: ['deployments'], resourceNames: [METALLB_CONTROLLER], verbs: ['get'] },
      metallbConfig,
      { apiGroups: ['metallb.io'], resources: ['ipaddresspools/status'], verbs: ['update'] },
    ]),
    role('pod-lister', [
      readOnly('', ['pods', 'secrets', 'configmaps']),
      metallbConfig,
      { apiGroups: ['metallb.io'], resources: ['servicebgpstatuses', 'servicebgpstatuses/status'], verbs: ['*'] },
    ]),
    clusterRole(`${METALLB_NAMESPACE}:${METALLB_CONTROLLER}`, [
      readOnly('', ['services', 'namespaces', 'nodes']),
      { apiGroups: [''], resources: ['services/status'], verbs: ['update'] },
      events,
    ]),
    clusterRole(`${METALLB_NAMESPACE}:${SPEAKER}`, [
      { apiGroups: ['metallb.io'], resources: ['servicel2statuses', 'servicel2statuses/status'], verbs: ['*'] },
      readOnly('', ['services', 'endpoints', 'nodes', 'namespaces']),
      readOnly('discovery.k8s.io', ['endpointslices']),
      events,
    ]),
    binding('RoleBinding', METALLB_CONTROLLER, METALLB_CONTROLLER, METALLB_CONTROLLER),
    binding('RoleBinding', 'pod-lister', 'pod-lister', SPEAKER),
    binding('ClusterRoleBinding', `${METALLB_NAMESPACE}:${METALLB_CONTROLLER}`, `${METALLB_NAMESPACE}:${METALLB_CONTROLLER}`, METALLB_CONTROLLER),
    binding('ClusterRoleBinding', `${METALLB_NAMESPACE}:${SPEAKER}`, `${METALLB_NAMESPACE}:${SPEAKER}`, SPEAKER),
  ];
}

const probe = { httpGet: { path: '/metrics', port: 'monitoring' }, periodSeconds: 2, failureThreshold: 3 };
const liveness = { httpGet: { path: '/metrics', port: 'monitoring' }, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 3 };

/** A Deployment or DaemonSet of MetalLB's: its labels, service account and container settings as upstream's. */
function workload(kind: 'Deployment' | 'DaemonSet', name: string, pod: { spec: object; container: object }, spec: object = {}): object {
  const podLabels = labels(name);
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace: METALLB_NAMESPACE, labels: podLabels },
    spec: {
      ...spec,
      selector: { matchLabels: podLabels },
      template: {
        metadata: { labels: podLabels },
        spec: {
          serviceAccountName: name,
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          ...pod.spec,
          containers: [{
            name,
            imagePullPolicy: 'IfNotPresent',
            ports: [{ name: 'monitoring', containerPort: MONITORING_PORT }],
            readinessProbe: probe,
            livenessProbe: liveness,
            resources: { requests: { cpu: '10m', memory: '20Mi' } },
            ...pod.container,
          }],
        },
      },
    },
  };
}

function controller(image: string): object {
  return workload('Deployment', METALLB_CONTROLLER, {
    spec: { terminationGracePeriodSeconds: 0, securityContext: { runAsNonRoot: true, runAsUser: 65534, fsGroup: 65534 } },
    container: {
      image,
      args: [`--port=${MONITORING_PORT}`, '--log-level=info', `--namespace=${METALLB_NAMESPACE}`, '--webhook-mode=disabled', '--disable-cert-rotation'],
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
    },
  }, { revisionHistoryLimit: 3 });
}

function speaker(image: string): object {
  return workload('DaemonSet', SPEAKER, {
    spec: {
      // It answers ARP on the node's own interface.
      hostNetwork: true,
      terminationGracePeriodSeconds: 2,
      tolerations: [{ effect: 'NoSchedule', key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' }],
      volumes: [{ name: 'excludel2', configMap: { name: 'metallb-excludel2', defaultMode: 0o644 } }],
    },
    container: {
      image,
      args: [`--port=${MONITORING_PORT}`, '--log-level=info', `--namespace=${METALLB_NAMESPACE}`],
      env: [
        { name: 'METALLB_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'METALLB_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      ],
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'], add: ['NET_RAW'] } },
      volumeMounts: [{ name: 'excludel2', mountPath: '/etc/metallb', readOnly: true }],
    },
  });
}

/** MetalLB's CRDs as upstream generates them (see scripts/vendor-metallb-crds.sh). */
export const metallbCrds = (): VendoredManifest => vendoredManifest('metallb/crds.yaml');

/** The namespace, CRDs, RBAC, the two workloads and kc's cloud controller: applied with the other add-ons. */
export function metallbManifest(plan: ClusterPlan): string {
  const images = podImagesFor(plan.release);
  const documents: object[] = [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      // The speaker runs on the host network with NET_RAW.
      metadata: { name: METALLB_NAMESPACE, labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } },
    },
    ...rbac(),
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'metallb-excludel2', namespace: METALLB_NAMESPACE },
      // Interfaces a speaker never answers ARP on: upstream's list of pod bridges and veths, and kc's pod bridge.
      data: { 'excludel2.yaml': `announcedInterfacesToExclude: ${JSON.stringify([...UPSTREAM_EXCLUDED_INTERFACES, `^${BRIDGE_NAME}$`])}\n` },
    },
    controller(images.metallbController),
    speaker(images.metallbSpeaker),
  ];
  return [
    metallbCrds().documents,
    ...documents.map((doc) => stringify(doc)),
    cloudControllerManifest(plan, METALLB_NAMESPACE),
  ].join('---\n');
}

/**
 * kc's address pool and its layer-2 announcement: custom resources, applied
 * once their CRDs are established (see METALLB_CRDS).
 */
export function metallbPoolManifest(plan: ClusterPlan): string {
  const metadata = { name: METALLB_POOL, namespace: METALLB_NAMESPACE, labels: { 'app.kubernetes.io/managed-by': 'kc' } };
  return [
    { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata, spec: { addresses: [loadBalancerRange(plan)] } },
    { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata, spec: { ipAddressPools: [METALLB_POOL] } },
  ].map((doc) => stringify(doc)).join('---\n');
}

