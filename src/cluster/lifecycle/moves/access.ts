import { haproxyBundle, haproxyServersStateCommand } from '../../../components/haproxy.js';
import { BOUNDARY_RULES_PATH } from '../../../components/boundary.js';
import { POD_NETWORK_UNIT, podNetworkBundle } from '../../../components/cni-bridge.js';
import { UNIT } from '../../../components/units.js';
import type { ClusterPlan, NodePlan } from '../../../model/plan.js';
import type { ClusterPki } from '../../../pki/types.js';
import { execOrThrow, type NodeExec, type Provider } from '../../../provider/provider.js';
import type { Deadline } from '../../../util/deadline.js';
import { adminKubeconfigFile } from '../../../components/admin-kubeconfig.js';
import { kubectl } from '../../kube/kubectl.js';
import type { HostApi } from '../../kube/api.js';
import { deliverFiles, journalTail } from '../../node/units.js';
import { waitUntil } from '../../../util/poll.js';
import { concurrently } from '../../../util/concurrent.js';

/**
 * What node changes do on nodes that stay, and to the node that moves:
 * kubectl on a master that is up, HAProxy's backend list, the pod routes
 * every node keeps, a worker's drain, a master's own API server.
 */

export interface ChangeContext {
  engine: Provider;
  plan: ClusterPlan;
  pki: ClusterPki;
  deadline: Deadline;
}

/** A node change that waits on the API server too: through the lb, from this host. */
export type JoinContext = ChangeContext & { api: HostApi };

/**
 * Runs kubectl as admin on `via` (a running master), after putting the admin
 * kubeconfig there: clusters made by an older kc have it on the first master only.
 */
export async function kubectlVia(ctx: ChangeContext, via: NodePlan, args: string[], input?: string): Promise<string> {
  await deliverAdminKubeconfig(ctx, via);
  return kubectl(ctx.engine, ctx.plan, args, input, via);
}

/** The admin kubeconfig on `via`, for kubectl there. */
export async function deliverAdminKubeconfig(ctx: Pick<ChangeContext, 'engine' | 'plan' | 'pki'>, via: NodePlan): Promise<void> {
  await deliverFiles(ctx.engine, via, { files: [adminKubeconfigFile(ctx.plan, ctx.pki)], units: [] });
}

/** HAProxy's configuration for `plan` on the lb, then a reload: new workers take it, old ones finish their connections. */
export async function reloadHaproxy(engine: NodeExec, plan: ClusterPlan): Promise<void> {
  await deliverFiles(engine, plan.lb, haproxyBundle(plan));
  const reload = await engine.exec(plan.lb, ['systemctl', 'reload', UNIT.haproxy]);
  if (reload.exitCode !== 0) {
    throw new Error(`HAProxy refused its new configuration: ${reload.stderr.trim()}\n${await journalTail(engine, plan.lb, UNIT.haproxy, 15)}`);
  }
}

/** HAProxy's live servers of the masters backend and whether each is up (operational state 2). */
export async function haproxyServers(engine: NodeExec, plan: ClusterPlan): Promise<Map<string, boolean>> {
  const out = await execOrThrow(engine, plan.lb, haproxyServersStateCommand());
  return parseServersState(out);
}

/**
 * Pure: `show servers state <backend>` output (a version line, a `#` header
 * naming the columns, then one line per server) to server name → up.
 */
export function parseServersState(text: string): Map<string, boolean> {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const header = lines.find((l) => l.startsWith('#'))?.replace(/^#\s*/, '').split(/\s+/) ?? [];
  const nameAt = header.indexOf('srv_name');
  const stateAt = header.indexOf('srv_op_state');
  const servers = new Map<string, boolean>();
  if (nameAt < 0 || stateAt < 0) return servers;
  for (const line of lines.filter((l) => !l.startsWith('#') && /^\d+\s/.test(l))) {
    const fields = line.split(/\s+/);
    const name = fields[nameAt];
    if (name) servers.set(name, fields[stateAt] === '2');
  }
  return servers;
}

/** Waits until HAProxy lists exactly the plan's masters, each of them up. */
export async function waitForHaproxyBackends(ctx: ChangeContext): Promise<void> {
  const wanted = ctx.plan.masters.map((m) => m.name).sort();
  await waitUntil(
    `HAProxy to route to ${wanted.join(', ')}`,
    async () => {
      const servers = await haproxyServers(ctx.engine, ctx.plan);
      const listed = [...servers.keys()].sort();
      const down = listed.filter((name) => !servers.get(name));
      return (listed.join(',') === wanted.join(',') && down.length === 0) || `listed ${listed.join(', ') || 'none'}${down.length ? `; down: ${down.join(', ')}` : ''}`;
    },
    { deadline: ctx.deadline, intervalMs: 250, onTimeout: () => journalTail(ctx.engine, ctx.plan.lb, UNIT.haproxy) },
  );
}

/**
 * Rewrites the pod network unit of each node for `plan` and runs it again:
 * routes to every worker's pods now, and after the node's next restart.
 * A removed worker's route is deleted too (re-running the unit only adds).
 */
export async function refreshPodRoutes(engine: NodeExec, plan: ClusterPlan, nodes: readonly NodePlan[], removedSubnet?: string): Promise<void> {
  if (plan.spec.cni !== 'bridge') return;
  await concurrently(
    nodes,
    async (node) => {
      // The unit and the boundary it loads (a node of a cluster made by an older kc may not have it yet); not the conflist, which a running bridge uses.
      const unitAndBoundary = podNetworkBundle(plan, node).files.filter((f) => f.path.endsWith(`/${POD_NETWORK_UNIT}`) || f.path === BOUNDARY_RULES_PATH);
      await deliverFiles(engine, node, { files: unitAndBoundary, units: [] });
      await execOrThrow(engine, node, ['systemctl', 'daemon-reload']);
      if (removedSubnet) await engine.exec(node, ['ip', 'route', 'del', removedSubnet]);
      await execOrThrow(engine, node, ['systemctl', 'restart', POD_NETWORK_UNIT]);
    },
  );
}

/**
 * Adds a joining node to the hosts file of the nodes that run now (a node's
 * hosts file is written when its container is created; see NodeSpec.peers),
 * so etcd peers and the lb find it without the engine's DNS. Docker rewrites
 * the file when a container restarts: after that, the engine's DNS answers
 * for the new name. The entry never goes stale: a slot keeps its address.
 */
export async function addHostsEntry(engine: NodeExec, nodes: readonly NodePlan[], joining: NodePlan): Promise<void> {
  const line = `${joining.ip} ${joining.name}`;
  // Appended in place: /etc/hosts is a bind mount, which a rename (sed -i) cannot replace.
  const script = `grep -q '[[:space:]]${joining.name}$' /etc/hosts || echo '${line}' >> /etc/hosts`;
  await concurrently(nodes, (node) => execOrThrow(engine, node, ['/bin/sh', '-c', script]));
}

/**
 * Waits for a master's own API server to answer /readyz, asked by kubectl
 * in it with the admin kubeconfig every master has: the lb does not route to
 * it yet (a master joining) or no longer (a master drained for a restart).
 */
export async function waitForOwnApiServer(ctx: ChangeContext, master: NodePlan): Promise<void> {
  await waitUntil(
    `the API server on ${master.name} to be ready`,
    async () => {
      const readyz = await kubectlVia(ctx, master, ['get', '--raw', '/readyz']);
      return readyz.trim() === 'ok' || readyz.trim();
    },
    { deadline: ctx.deadline, intervalMs: 250, onTimeout: () => journalTail(ctx.engine, master, UNIT.apiServer) },
  );
}

/** The units a master runs that read the API server or are it, as started after etcd. */
export const CONTROL_PLANE_UNITS = [UNIT.apiServer, UNIT.controllerManager, UNIT.scheduler];

/**
 * Stops a master's API server and controllers, and waits until its address
 * has left the `kubernetes` Service's endpoints (a stopping API server takes
 * it out first). Not waiting for the stop itself: after that, the API server
 * waits for open watches, which no longer matters for a master that goes.
 */
export async function stopControlPlane(ctx: ChangeContext, master: NodePlan, via: NodePlan): Promise<void> {
  await execOrThrow(ctx.engine, master, ['systemctl', 'stop', '--no-block', ...CONTROL_PLANE_UNITS]);
  await waitUntil(
    `${master.name} to leave the kubernetes Service's endpoints`,
    async () => {
      const addresses = await kubectlVia(ctx, via, [
        'get', 'endpointslices', '-n', 'default', '-l', 'kubernetes.io/service-name=kubernetes', '-o', 'jsonpath={.items[*].endpoints[*].addresses[*]}',
      ]);
      return !addresses.split(/\s+/).includes(master.ip) || `still listed: ${addresses.trim()}`;
    },
    { deadline: ctx.deadline, intervalMs: 250 },
  );
}

/** Cordons and drains a worker through `via` (evictions respect PodDisruptionBudgets, bounded by the deadline); taken back by uncordoning. */
export async function drainWorker(ctx: ChangeContext, worker: NodePlan, via: NodePlan, force: boolean): Promise<void> {
  const seconds = Math.max(1, Math.floor(ctx.deadline.remainingMs() / 1000));
  const drain = ['drain', worker.name, '--ignore-daemonsets', '--delete-emptydir-data', `--timeout=${seconds}s`, ...(force ? ['--force'] : [])];
  try {
    await kubectlVia(ctx, via, drain);
  } catch (error) {
    const hint = /declare no controller|cannot delete Pods/.test((error as Error).message)
      ? '\nPods that no controller recreates would be lost: delete them yourself, or pass --force to delete them with the node.'
      : '\nA PodDisruptionBudget may allow no eviction now: raise the --wait, or scale the workload first.';
    throw new Error(`${(error as Error).message}${hint}`, { cause: error });
  }
}
