/**
 * NetworkPolicy enforcement beside kc's bridge network: kube-router's network
 * policy controller only (no routing, no service proxy), as a systemd unit on
 * every worker, like kube-proxy.
 *
 * Why kube-router: it enforces policies with iptables, ipset and the iptables
 * `set` match, all of which this kind of kernel has. Weave Net needs dummy
 * interfaces (CONFIG_DUMMY) and kube-network-policies (kind's choice) needs
 * nftables `queue`; neither works everywhere kc runs. k3s embeds the same
 * controller beside flannel.
 *
 * What kc chose, knowing v2.1.0's problems (the only version the Go module
 * proxy serves):
 *  - IPv4 only (`--enable-ipv6=false`): kc's clusters are IPv4, and v2.1.0's
 *    IPv6 policy handling has known bugs; nothing IPv6 is ever programmed.
 *  - No container image (and none could be pulled here anyway): upstream's
 *    v2.1.0 image guesses the iptables backend with iptables-wrapper on
 *    Alpine, and that guess is where its reported legacy-vs-nft regression
 *    lies; rules in the wrong backend would silently enforce nothing. kc runs
 *    the binary on the node itself, where `iptables`, `iptables-save` and
 *    `ipset` are the node's, set by kc-entrypoint to the backend Docker uses
 *    (/etc/kc-iptables-mode): kube-router, kube-proxy and kc's own rules share
 *    one backend, whichever it is.
 *  - Pods on the same worker talk over the kc0 bridge, which iptables sees only
 *    with `net.bridge.bridge-nf-call-iptables=1`: the unit sets it before
 *    starting (the node image's sysctl.d sets it too, but a restart of the
 *    node container gives it a fresh network namespace).
 *  - Built from source with security-fixed dependencies (see
 *    KUBE_ROUTER_RAISED_DEPENDENCIES in the manifest).
 *
 * It authenticates with its own client certificate (CN=system:kube-router)
 * and may only read what the controller watches (`kubeRouterRbac`).
 */
import { trustedCaPem } from '../pki/ca-rotation.js';
import type { ClusterPlan, NodePlan } from '../model/plan.js';
import { renderKubeconfig } from '../pki/kubeconfig.js';
import type { ClusterPki } from '../pki/types.js';
import { secretFile } from './control-plane-files.js';
import { PATHS } from './paths.js';
import { clusterRoleForUser } from './rbac.js';
import type { ComponentBundle } from './types.js';
import { flags, LB_CLIENT_ENVIRONMENT, unitFile } from './unit.js';
import { UNIT } from './units.js';

export const KUBE_ROUTER_UNIT = UNIT.kubeRouter;
export const KUBE_ROUTER_USER = 'system:kube-router';
export const KUBE_ROUTER_KUBECONFIG = '/var/lib/kube-router/kubeconfig';
/** kube-router's default health port, on the worker's own network namespace. */
export const KUBE_ROUTER_HEALTH_PORT = 20244;
/** The chain kube-router's policy controller hooks into FORWARD: once it exists, the first sync is done. */
export const KUBE_ROUTER_FORWARD_CHAIN = 'KUBE-ROUTER-FORWARD';

/** kube-router's flags: the policy controller alone, IPv4 only, for this worker. */
export function kubeRouterFlags(plan: ClusterPlan, worker: NodePlan): string[] {
  return flags({
    'run-firewall': true,
    'run-router': false,
    'run-service-proxy': false,
    'run-loadbalancer': false,
    // kc's bridge network owns the CNI config.
    'enable-cni': false,
    'enable-ipv4': true,
    'enable-ipv6': false,
    kubeconfig: KUBE_ROUTER_KUBECONFIG,
    'hostname-override': worker.name,
    // Policies let traffic to Service addresses through to kube-proxy's rules.
    'service-cluster-ip-range': plan.spec.serviceSubnet,
    'health-port': KUBE_ROUTER_HEALTH_PORT,
    'metrics-port': 0,
  });
}

export function kubeRouterBundle(plan: ClusterPlan, worker: NodePlan, pki: ClusterPki): ComponentBundle {
  const kubeconfig = renderKubeconfig({
    contextName: 'default',
    clusterName: plan.spec.name,
    userName: KUBE_ROUTER_USER,
    server: plan.internalApiServerUrl,
    caPem: trustedCaPem(pki),
    certPem: pki.kubeRouter.certPem,
    keyPem: pki.kubeRouter.keyPem,
  });
  return {
    files: [
      secretFile(KUBE_ROUTER_KUBECONFIG, kubeconfig),
      unitFile(KUBE_ROUTER_UNIT, {
        description: "kube-router's network policy controller (NetworkPolicy on kc's bridge network)",
        command: [`${PATHS.bin}/kube-router`, ...kubeRouterFlags(plan, worker)],
        after: ['kc-pod-network.service'],
        // `-` : on kernels where the sysctl is not per network namespace it is the host's, already set.
        service: ['ExecStartPre=-/usr/sbin/sysctl -qw net.bridge.bridge-nf-call-iptables=1', ...LB_CLIENT_ENVIRONMENT],
      }),
    ],
    units: [KUBE_ROUTER_UNIT],
  };
}

const ROLE_NAME = 'system:kc:kube-router';

/**
 * Read-only access to what kube-router watches: the policy controller reads
 * pods, namespaces, policies and its own node; kube-router's informer factory
 * also starts informers for Services, Endpoints and EndpointSlices, which
 * must be listable or it never syncs.
 */
export function kubeRouterRbac(): string {
  const read = ['get', 'list', 'watch'];
  return clusterRoleForUser(ROLE_NAME, KUBE_ROUTER_USER, [
    { apiGroups: [''], resources: ['pods', 'namespaces', 'nodes', 'services', 'endpoints'], verbs: read },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: read },
    { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: read },
  ]);
}
