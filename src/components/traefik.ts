import { stringify } from 'yaml';
import { podImagesFor } from '../artifacts/manifest.js';
import type { ClusterPlan } from '../model/plan.js';
import { vendoredManifest, type VendoredManifest } from './vendored.js';

/**
 * The ingress add-on: Traefik, as k3s ships it, serving Ingress (the
 * IngressClass `traefik`, marked default) and the Gateway API (the standard
 * channel's CRDs, vendored in manifests/gateway-api/, and the GatewayClass
 * `traefik`). One Deployment behind one Service `traefik` of type
 * LoadBalancer, reached two ways from the host:
 * - at its LoadBalancer address (MetalLB's, with the load-balancer add-on),
 *   ports 80 and 443, as any container on the cluster network does;
 * - on the host's ingress ports (spec.ingressPorts, 127.0.0.1), which the lb
 *   node publishes: HAProxy there forwards them, TCP as it comes, to this
 *   Service's NodePorts on the workers (components/haproxy.ts). So TLS ends
 *   at Traefik either way, with the Secret an Ingress or a Gateway names.
 *
 * Its entry points listen on 80 and 443 inside the pod (the Gateway API's
 * conformance tests and most examples give listeners those ports, and Traefik
 * matches a listener to the entry point of its port): a pod sysctl lets the
 * unprivileged user bind them. Everything else is upstream's defaults: no
 * dashboard, Traefik's own CRDs (IngressRoute, Middleware) left out, no call
 * home (version check and usage statistics off: clusters are often offline).
 */
export const TRAEFIK_NAMESPACE = 'traefik';
const NAME = 'traefik';
/** What `kubectl get ingressclass` and `kubectl get gatewayclass` show, and what resources name. */
export const INGRESS_CLASS = 'traefik';
export const GATEWAY_CLASS = 'traefik';
/**
 * A Gateway ready for HTTPRoutes of every namespace (HTTP, port 80): a
 * chart's route names it as its parent. Its name is the default Gateway's of
 * Traefik's Helm chart, so Traefik's own examples find it.
 */
export const DEFAULT_GATEWAY = 'traefik-gateway';
/**
 * The Service's NodePorts, fixed because HAProxy on the lb forwards the
 * host's ingress ports to them. Kubernetes gives them to no other Service;
 * one that asks for them explicitly is refused ("provided port is already allocated").
 * At the top of the range: Kubernetes keeps its bottom (30000-30085) for
 * the ports users pick themselves, as kc's own config example does with
 * 30080 (a NodePort published through extraPortMappings); the ones nobody
 * asks for come from the top, after create has taken kc's.
 */
export const INGRESS_NODE_PORTS = { http: 32080, https: 32443 } as const;
/** Ping (the probes) on the `traefik` entry point, moved off 8080 (upstream's default), which apps often use. */
const PING_PORT = 9000;
/** The CRDs the GatewayClass and Gateway need, established before those are applied. */
export const GATEWAY_API_CRDS = ['gatewayclasses.gateway.networking.k8s.io', 'gateways.gateway.networking.k8s.io'];

/** The Gateway API's standard channel as upstream publishes it (see scripts/vendor-gateway-api-crds.sh). */
export const gatewayApiCrds = (): VendoredManifest => vendoredManifest('gateway-api/standard.yaml');

const LABELS = { 'app.kubernetes.io/name': NAME };
const GET_LIST_WATCH = ['get', 'list', 'watch'];
const GATEWAY_KINDS = ['gatewayclasses', 'gateways', 'httproutes', 'grpcroutes', 'tcproutes', 'tlsroutes', 'referencegrants', 'backendtlspolicies'];

/** Upstream's Helm chart's ClusterRole for the two providers kc runs (Ingress, Gateway API). */
function rbac(): object[] {
  const subjects = [{ kind: 'ServiceAccount', name: NAME, namespace: TRAEFIK_NAMESPACE }];
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: NAME, namespace: TRAEFIK_NAMESPACE, labels: LABELS } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: NAME, labels: LABELS },
      rules: [
        { apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'watch'] },
        { apiGroups: [''], resources: ['configmaps', 'nodes', 'secrets', 'services'], verbs: GET_LIST_WATCH },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: GET_LIST_WATCH },
        { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'ingressclasses'], verbs: GET_LIST_WATCH },
        // It writes its address into each Ingress's and Gateway's status, and the routes' conditions.
        { apiGroups: ['networking.k8s.io'], resources: ['ingresses/status'], verbs: ['update'] },
        { apiGroups: ['gateway.networking.k8s.io'], resources: GATEWAY_KINDS, verbs: GET_LIST_WATCH },
        { apiGroups: ['gateway.networking.k8s.io'], resources: GATEWAY_KINDS.map((kind) => `${kind}/status`), verbs: ['update'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: NAME, labels: LABELS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAME },
      subjects,
    },
  ];
}

/** Traefik's flags: its entry points, the two Kubernetes providers, and the Service whose address it reports. */
export function traefikArgs(): string[] {
  const service = `${TRAEFIK_NAMESPACE}/${NAME}`;
  return [
    '--global.checkNewVersion=false',
    '--global.sendAnonymousUsage=false',
    '--entryPoints.web.address=:80',
    '--entryPoints.websecure.address=:443',
    // An Ingress without a `tls:` section is served on 443 too, with Traefik's default certificate (k3s's setting).
    '--entryPoints.websecure.http.tls=true',
    `--entryPoints.traefik.address=:${PING_PORT}`,
    '--ping=true',
    '--providers.kubernetesIngress=true',
    // An Ingress's status gets the Service's LoadBalancer address (what `kubectl get ingress` shows).
    `--providers.kubernetesIngress.ingressEndpoint.publishedService=${service}`,
    '--providers.kubernetesGateway=true',
    `--providers.kubernetesGateway.statusAddress.service.namespace=${TRAEFIK_NAMESPACE}`,
    `--providers.kubernetesGateway.statusAddress.service.name=${NAME}`,
  ];
}

function deployment(image: string): object {
  const probe = { httpGet: { path: '/ping', port: 'traefik' }, periodSeconds: 2, failureThreshold: 3 };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: NAME, namespace: TRAEFIK_NAMESPACE, labels: LABELS },
    spec: {
      replicas: 1,
      revisionHistoryLimit: 3,
      selector: { matchLabels: LABELS },
      template: {
        metadata: { labels: LABELS },
        spec: {
          serviceAccountName: NAME,
          // Traefik's own grace period for open requests (lifeCycle.graceTimeOut) is 10 s.
          terminationGracePeriodSeconds: 10,
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            runAsGroup: 65532,
            // Binding 80 and 443 as that user: a namespaced sysctl every Pod Security level allows.
            sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }],
          },
          containers: [{
            name: NAME,
            image,
            imagePullPolicy: 'IfNotPresent',
            args: traefikArgs(),
            ports: [
              { name: 'web', containerPort: 80 },
              { name: 'websecure', containerPort: 443 },
              { name: 'traefik', containerPort: PING_PORT },
            ],
            readinessProbe: probe,
            livenessProbe: { ...probe, initialDelaySeconds: 10, periodSeconds: 10 },
            resources: { requests: { cpu: '10m', memory: '50Mi' } },
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
            volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
          }],
          volumes: [{ name: 'tmp', emptyDir: {} }],
        },
      },
    },
  };
}

/** Type LoadBalancer: MetalLB gives it the address the host reaches; its NodePorts are HAProxy's backends. */
function service(): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: NAME, namespace: TRAEFIK_NAMESPACE, labels: LABELS },
    spec: {
      type: 'LoadBalancer',
      selector: LABELS,
      ports: [
        { name: 'web', port: 80, targetPort: 'web', nodePort: INGRESS_NODE_PORTS.http, protocol: 'TCP' },
        { name: 'websecure', port: 443, targetPort: 'websecure', nodePort: INGRESS_NODE_PORTS.https, protocol: 'TCP' },
      ],
    },
  };
}

/**
 * The namespace, RBAC, Traefik and its IngressClass: applied with the other
 * add-ons. The Gateway API's CRDs are applied beside that stream, and the
 * GatewayClass once they are established (see components/addons.ts):
 * Traefik's informers wait for them (a list of a kind not served yet is retried).
 */
export function traefikManifest(plan: ClusterPlan): string {
  const image = podImagesFor(plan.release).traefik;
  const documents: object[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: TRAEFIK_NAMESPACE } },
    ...rbac(),
    deployment(image),
    service(),
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      // Ingresses that name no class get this one (the API server's DefaultIngressClass admission).
      metadata: { name: INGRESS_CLASS, labels: LABELS, annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
      spec: { controller: 'traefik.io/ingress-controller' },
    },
  ];
  return documents.map((doc) => stringify(doc)).join('---\n');
}

/**
 * The GatewayClass `traefik` and the shared Gateway: custom resources,
 * applied once the Gateway API's CRDs are established (see GATEWAY_API_CRDS).
 */
export function traefikGatewayManifest(): string {
  return [
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GatewayClass',
      metadata: { name: GATEWAY_CLASS, labels: LABELS },
      spec: { controllerName: 'traefik.io/gateway-controller', description: 'Traefik, installed by kc (the ingress add-on)' },
    },
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: DEFAULT_GATEWAY, namespace: TRAEFIK_NAMESPACE, labels: LABELS },
      spec: {
        gatewayClassName: GATEWAY_CLASS,
        listeners: [{ name: 'web', protocol: 'HTTP', port: 80, allowedRoutes: { namespaces: { from: 'All' } } }],
      },
    },
  ].map((doc) => stringify(doc)).join('---\n');
}
