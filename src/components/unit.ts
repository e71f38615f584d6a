import type { ClusterSpec, Component } from '../config/types.js';
import type { NodeFile } from './types.js';
import { SYSTEMD_UNIT_DIR } from './types.js';

export interface UnitSpec {
  description: string;
  /** Binary and its flags; flags render one per line so `systemctl cat` stays readable. */
  command: string[];
  /** Units this one starts after and requires. */
  requires?: string[];
  /** Units this one starts after without requiring them. */
  after?: string[];
  /** `notify` for daemons that tell systemd when they are ready (etcd). */
  type?: 'simple' | 'notify' | 'oneshot';
  /** Extra lines for the [Service] section. */
  service?: string[];
  /** Seconds between restarts; 1 unless the component is known to exit while it waits for a peer. */
  restartSeconds?: number;
}

/**
 * A systemd unit that restarts its daemon forever: components start before
 * their dependencies are up (kubelet before the API server, for one) and
 * simply retry, which lets kc start every node at once.
 */
export function renderUnit(spec: UnitSpec): string {
  const after = [...(spec.requires ?? []), ...(spec.after ?? [])];
  const unit = [
    '[Unit]',
    `Description=${spec.description}`,
    ...(after.length > 0 ? [`After=${after.join(' ')}`] : []),
    ...(spec.requires?.length ? [`Requires=${spec.requires.join(' ')}`] : []),
    // Never give up restarting: a component waiting for its peers is not broken.
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    `Type=${spec.type ?? 'simple'}`,
    `ExecStart=${spec.command.join(' \\\n  ')}`,
    ...(spec.type === 'oneshot' ? ['RemainAfterExit=yes'] : ['Restart=always', `RestartSec=${spec.restartSeconds ?? 1}`]),
    ...(spec.service ?? []),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ];
  return unit.join('\n');
}

/**
 * For components that reach the API servers through the lb (kubelet,
 * kube-proxy, kube-router): client-go's HTTP/2 health check, sooner than its
 * 30 s + 15 s default. When a master dies, HAProxy routes new connections
 * around it at once, but a connection it already carried stays open to a
 * peer that no longer answers; the check finds that out within 15 s, well
 * inside a node lease's 40 s, and the client reconnects through the lb.
 */
export const LB_CLIENT_ENVIRONMENT: readonly string[] = ['Environment=HTTP2_READ_IDLE_TIMEOUT_SECONDS=10', 'Environment=HTTP2_PING_TIMEOUT_SECONDS=5'];

/**
 * When a node boots again (`kc start cluster`, a restarted container), the
 * controller-manager and the scheduler start with the API server and exit
 * until it answers and grants them what they read at start (the
 * extension-apiserver-authentication ConfigMap): a quarter second between
 * tries makes them start within that of it rather than a second later. (A
 * create starts them only once the API server is ready.)
 */
export const RESTART_SOON_SECONDS = 0.25;

export function unitFile(name: string, spec: UnitSpec): NodeFile {
  return { path: `${SYSTEMD_UNIT_DIR}/${name}`, content: renderUnit(spec) };
}

/** `--name=value` flags from a record, in the record's order. */
export function flags(values: Record<string, string | number | boolean>): string[] {
  return Object.entries(values).map(([name, value]) => `--${name}=${String(value)}`);
}

/** Components that take Kubernetes feature gates as a flag (kubelet and kube-proxy read them from their config files). */
const GATES_AS_FLAG: readonly Component[] = ['apiserver', 'controllerManager', 'scheduler'];

/** `A=true,B=false`, sorted so the same gates always render the same flag. */
export function featureGatesValue(gates: Record<string, boolean>): string {
  return Object.keys(gates).sort().map((gate) => `${gate}=${String(gates[gate])}`).join(',');
}

/**
 * kc's own flags for a component, then the user's feature gates and extra
 * arguments. A user flag with the same name replaces kc's instead of
 * repeating it, so what the user asked for is what runs.
 */
export function componentFlags(
  spec: ClusterSpec,
  component: Component,
  own: Record<string, string | number | boolean>,
): string[] {
  const gates: Record<string, string> = {};
  if (GATES_AS_FLAG.includes(component) && Object.keys(spec.featureGates).length > 0) {
    gates['feature-gates'] = featureGatesValue(spec.featureGates);
  }
  return flags({ ...own, ...gates, ...(spec.extraArgs[component] ?? {}) });
}
