import type { ClusterPlan } from '../model/plan.js';
import { API_SERVER_PORT, LB_INGRESS_PORTS } from '../model/plan.js';
import { INGRESS_NODE_PORTS } from './traefik.js';
import { PATHS } from './paths.js';
import type { ComponentBundle } from './types.js';
import { UNIT } from './units.js';

/** HAProxy's runtime API on the lb: `kc` and tests read the live backend list from it. */
export const HAPROXY_ADMIN_SOCKET = '/run/haproxy-admin.sock';

/** The command that lists the live servers of the masters backend (`show servers state`), one per line after the header. */
export function haproxyServersStateCommand(): string[] {
  return ['/bin/sh', '-c', `echo 'show servers state ${READY_BACKEND}' | socat stdio UNIX-CONNECT:${HAPROXY_ADMIN_SOCKET}`];
}

/**
 * Sets one master's state in both backends through the runtime API:
 * `drain` takes no new connection (those it carries finish), `ready` takes
 * connections again as its checks allow.
 */
export function haproxySetServerCommand(master: string, state: 'drain' | 'ready'): string[] {
  const commands = [READY_BACKEND, LISTENING_BACKEND].map((backend) => `set server ${backend}/${master} state ${state}`).join('; ');
  return ['/bin/sh', '-c', `echo '${commands}' | socat stdio UNIX-CONNECT:${HAPROXY_ADMIN_SOCKET}`];
}

/** The masters whose API server answers /readyz: where every connection goes while one does. */
export const READY_BACKEND = 'masters';
/** The masters whose API server accepts connections: used only while no master is ready. */
export const LISTENING_BACKEND = 'masters-listening';

/** How each master is checked; the listening backend drops the TLS and HTTP part. */
const SERVER_CHECKS = 'check check-ssl verify none inter 500ms fastinter 200ms fall 2 rise 1 observe layer4 error-limit 1 on-error mark-down';

/**
 * HAProxy balancing TCP over every master's API server. Each backend is
 * checked with `GET /readyz` over TLS, so a stopped or unready API server is
 * routed around within a second. Servers are listed by their fixed
 * addresses: nothing depends on the engine's DNS, and a master that is not
 * up yet is just a failing check.
 *
 * When a master dies, its address stops answering at all (no reset): a
 * 200 ms connect timeout (a connect on the cluster's bridge takes well
 * under a millisecond) and a redispatch on every retry move a new connection
 * to another master at once; that failed connect marks the master down
 * (`observe layer4`), so no later connection tries it until a check (every
 * 500 ms) finds it back. Connections it already carried
 * are left to the clients' own health checks (see LB_CLIENT_ENVIRONMENT):
 * HAProxy's `shutdown-sessions` would also cut connections it is at that
 * moment redispatching, failing requests that began after the master died.
 *
 * When no master is ready, connections go to every master that accepts
 * them (LISTENING_BACKEND), not to none. That is an etcd election: when
 * etcd's leader dies, every surviving API server's /readyz fails or stalls
 * at once until a new leader is elected (about a second; seen as "Layer7
 * timeout" on both survivors at the same moment on a busy machine), and with
 * no backend HAProxy closed every new connection, failing reads that the
 * surviving API servers could serve (from their watch cache, or once the
 * election ends, well within a client's timeout). A master whose own etcd is
 * broken while the others' is not still fails /readyz alone and is routed
 * around as before.
 *
 * With the ingress add-on, HAProxy also takes the ingress's traffic
 * (ingressSections).
 *
 * Masters (and, with the ingress, workers) joining or leaving change this
 * file; `systemctl reload haproxy` starts new workers on it while the old
 * ones finish their connections.
 */
export function renderHaproxyConfig(plan: ClusterPlan): string {
  // By fixed address, not by name: no DNS at start or at run time (a master that is down is just a failing check).
  const servers = plan.masters.map((m) => `  server ${m.name} ${m.ip}:${API_SERVER_PORT}`);
  return [
    'global',
    '  log stdout format raw local0 info',
    // HAProxy needs about two descriptors per connection and refuses to start
    // when that exceeds the hard limit, which Docker hosts often set at 20000 or lower.
    '  maxconn 4000',
    `  stats socket ${HAPROXY_ADMIN_SOCKET} mode 600 level admin`,
    '',
    'defaults',
    '  mode tcp',
    '  log global',
    '  option tcplog',
    '  option dontlognull',
    '  timeout connect 200ms',
    // A check's answer may take this long: /readyz of a live API server on a busy machine can take more than the 500 ms between checks.
    '  timeout check 2s',
    // Long client/server timeouts: watches and `kubectl exec` sessions hold connections open.
    '  timeout client 1h',
    '  timeout server 1h',
    '  retries 3',
    '  option redispatch 1',
    '',
    'frontend kube-apiserver',
    `  bind *:${API_SERVER_PORT}`,
    `  use_backend ${READY_BACKEND} if { nbsrv(${READY_BACKEND}) gt 0 }`,
    `  default_backend ${LISTENING_BACKEND}`,
    '',
    `backend ${READY_BACKEND}`,
    // Every change of a check's outcome goes to the journal, with its reason: what `kc export logs` shows of a failover.
    '  option log-health-checks',
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    `  default-server ${SERVER_CHECKS}`,
    ...servers,
    '',
    `backend ${LISTENING_BACKEND}`,
    // The same API servers, checked only for accepting connections.
    `  default-server ${SERVER_CHECKS.replace('check check-ssl verify none', 'check')}`,
    ...servers,
    '',
    ...(plan.spec.addons.ingress ? ingressSections(plan) : []),
  ].join('\n');
}

/**
 * The ingress's HTTP and HTTPS, as the lb publishes them on the host
 * (spec.ingressPorts): forwarded as TCP, untouched (TLS ends at Traefik, with
 * the client's SNI), to the Traefik Service's NodePorts on every worker,
 * where kube-proxy takes each connection to a Traefik pod. Workers rather
 * than one address: a stopped or removed worker is a failed check (a TCP
 * connect every second), routed around like a master, and nothing depends on
 * which worker runs Traefik. Why not its LoadBalancer address: that needs the
 * load-balancer add-on, and MetalLB moves an address off a dead worker only
 * once the node is NotReady (40 s and more).
 */
function ingressSections(plan: ClusterPlan): string[] {
  const section = (name: 'http' | 'https'): string[] => [
    `frontend ingress-${name}`,
    `  bind *:${LB_INGRESS_PORTS[name]}`,
    `  default_backend ingress-${name}`,
    '',
    `backend ingress-${name}`,
    '  default-server check inter 1s fastinter 200ms fall 2 rise 1 observe layer4 error-limit 1 on-error mark-down',
    ...plan.workers.map((w) => `  server ${w.name} ${w.ip}:${INGRESS_NODE_PORTS[name]}`),
    '',
  ];
  return [...section('http'), ...section('https')];
}

export function haproxyBundle(plan: ClusterPlan): ComponentBundle {
  // Debian's haproxy.service runs HAProxy with this file; it is disabled in the image and enabled on the lb only.
  return { files: [{ path: PATHS.haproxyConfig, content: renderHaproxyConfig(plan) }], units: [UNIT.haproxy] };
}
