import type { ClusterPlan } from '../model/plan.js';
import { API_SERVER_PORT } from '../model/plan.js';
import { PATHS } from './paths.js';
import type { ComponentBundle } from './types.js';
import { UNIT } from './units.js';

/** Docker's embedded DNS, which resolves the node names on a user-defined network. */
const DOCKER_DNS = '127.0.0.11:53';

/**
 * HAProxy balancing TCP over every master's API server. Each backend is
 * checked with `GET /readyz` over TLS, so a stopped or unready API server is
 * routed around within two seconds. Servers are named, not addressed, and
 * resolved through Docker's DNS at run time: a master that is not up yet
 * starts in maintenance instead of failing HAProxy's start.
 */
export function renderHaproxyConfig(plan: ClusterPlan): string {
  const servers = plan.masters.map(
    (m) => `  server ${m.name} ${m.name}:${API_SERVER_PORT} resolvers docker init-addr last,libc,none`,
  );
  return [
    'global',
    '  log stdout format raw local0 info',
    // HAProxy needs about two descriptors per connection and refuses to start
    // when that exceeds the hard limit, which Docker hosts often set at 20000 or lower.
    '  maxconn 4000',
    '',
    'defaults',
    '  mode tcp',
    '  log global',
    '  option tcplog',
    '  option dontlognull',
    '  timeout connect 5s',
    // Long client/server timeouts: watches and `kubectl exec` sessions hold connections open.
    '  timeout client 1h',
    '  timeout server 1h',
    '  retries 3',
    '  option redispatch',
    '',
    'resolvers docker',
    `  nameserver dns ${DOCKER_DNS}`,
    '  hold valid 5s',
    '',
    'frontend kube-apiserver',
    `  bind *:${API_SERVER_PORT}`,
    '  default_backend masters',
    '',
    'backend masters',
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    '  default-server check check-ssl verify none inter 1s fall 2 rise 1',
    ...servers,
    '',
  ].join('\n');
}

export function haproxyBundle(plan: ClusterPlan): ComponentBundle {
  // Debian's haproxy.service runs HAProxy with this file; it is disabled in the image and enabled on the lb only.
  return { files: [{ path: PATHS.haproxyConfig, content: renderHaproxyConfig(plan) }], units: [UNIT.haproxy] };
}
