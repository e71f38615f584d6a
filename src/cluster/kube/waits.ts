import { etcdctlCommand } from '../../components/etcd.js';
import { KUBE_ROUTER_FORWARD_CHAIN, KUBE_ROUTER_UNIT } from '../../components/kube-router.js';
import { UNIT } from '../../components/units.js';
import type { ClusterPlan, NodePlan } from '../../model/plan.js';
import type { NodeExec } from '../../provider/provider.js';
import type { Deadline } from '../../util/deadline.js';
import { waitUntil } from '../../util/poll.js';
import { journalTail } from '../node/units.js';
import { apiGetJson, isReady, listNodes, readyCondition, type Condition, type HostApi } from './api.js';
import { concurrently } from '../../util/concurrent.js';

/**
 * The waits every command shares: create, `kc create node` and `kc start
 * cluster` wait for the same things the same way. What the API server knows
 * is read with a GET from this process through the lb (milliseconds, where a
 * kubectl process in a node costs a few hundred of the CPU the starting
 * components need); what only a node knows (etcd, kube-router's rules) is
 * asked in the node. Each poll runs every 250 ms: a component turns ready at
 * any moment, not on a second boundary.
 */

const POLL_MS = 250;

/** What the waits in nodes need: the engine to run commands in, the cluster's layout, the command's one deadline. */
export interface InCluster {
  engine: NodeExec;
  plan: ClusterPlan;
  deadline: Deadline;
}

/** Every etcd member healthy, asked through the first master. */
export async function waitForEtcd({ engine, plan, deadline }: InCluster): Promise<void> {
  const first = plan.masters[0];
  if (!first) throw new Error('internal: no masters');
  await waitUntil(
    `etcd on ${plan.masters.map((m) => m.name).join(', ')} to be healthy`,
    async () => {
      const result = await engine.exec(first, etcdctlCommand(plan, ['endpoint', 'health']));
      return result.exitCode === 0 || `${result.stdout}${result.stderr}`.trim().split('\n').pop() || 'unhealthy';
    },
    { deadline, intervalMs: POLL_MS, onTimeout: () => journalTail(engine, first, UNIT.etcd) },
  );
}

/** The API server answers /readyz with 200 through the lb; otherwise the checks that failed are what was seen. */
export async function waitForApiServer(api: HostApi, deadline: Deadline, onTimeout?: () => Promise<string>): Promise<void> {
  await waitUntil(
    `the API server to be ready at ${api.server}/readyz`,
    async () => {
      const response = await api.probe(api.server, api.pki, '/readyz');
      return response.status === 200 || `HTTP ${response.status}: ${response.body.split('\n').filter((l) => l.includes('failed')).join('; ')}`;
    },
    { deadline, intervalMs: POLL_MS, ...(onTimeout ? { onTimeout } : {}) },
  );
}

/**
 * Every named node registered with the API server. Returns each one's
 * podCIDR ('' while it has none): kc sets it once the kubelet registered.
 */
export async function waitForRegistered(api: HostApi, names: readonly string[], deadline: Deadline, onTimeout?: () => Promise<string>): Promise<Map<string, string>> {
  let podCidrs = new Map<string, string>();
  await waitUntil(
    names.length === 1 ? `${names[0] ?? ''} to register` : 'every worker to register',
    async () => {
      podCidrs = new Map((await listNodes(api)).map((node) => [node.metadata.name, node.spec?.podCIDR ?? '']));
      const registered = names.filter((name) => podCidrs.has(name)).length;
      return registered === names.length || `${registered} of ${names.length} registered`;
    },
    { deadline, intervalMs: POLL_MS, ...(onTimeout ? { onTimeout } : {}) },
  );
  return podCidrs;
}

/** Since when a node's or pod's Ready must hold to count: a Ready from before a stop is stale. */
export interface FreshSince {
  /** The nodes that were started: only their status can be stale. */
  started: ReadonlySet<string>;
  /** When their containers started (ms since the epoch). */
  since: number;
}

/** Clocks of the host and the nodes agree (one kernel), but timestamps are whole seconds. */
const CLOCK_SLACK_MS = 1000;

function heardSince(condition: Condition | undefined, field: 'lastHeartbeatTime' | 'lastTransitionTime', since: number): boolean {
  return Date.parse(condition?.[field] ?? '') >= since - CLOCK_SLACK_MS;
}

/**
 * Every named node registered and Ready. With `fresh`, a started node's
 * Ready counts only with a heartbeat from after its start: a kubelet posts
 * its status once when it starts and then, while nothing changes, only every
 * 5 minutes (nodeStatusReportFrequency), so the heartbeat is counted from the
 * containers' start, not from this wait.
 */
export async function waitForNodesReady(
  api: HostApi,
  names: readonly string[],
  deadline: Deadline,
  options: { fresh?: FreshSince; onTimeout?: () => Promise<string> } = {},
): Promise<void> {
  const { fresh, onTimeout } = options;
  await waitUntil(
    names.length === 1 ? `${names[0] ?? ''} to be Ready` : 'every node to be Ready',
    async () => {
      const nodes = new Map((await listNodes(api)).map((node) => [node.metadata.name, node]));
      const notReady = names.filter((name) => {
        const node = nodes.get(name);
        if (!node || !isReady(node)) return true;
        return fresh !== undefined && fresh.started.has(name) && !heardSince(readyCondition(node), 'lastHeartbeatTime', fresh.since);
      });
      return notReady.length === 0 || `not ready: ${notReady.join(', ')}`;
    },
    { deadline, intervalMs: POLL_MS, ...(onTimeout ? { onTimeout } : {}) },
  );
}

interface PodList {
  items: Array<{ status?: { conditions?: Condition[] } }>;
}

/**
 * A CoreDNS pod Ready. With `readySince`, one that became Ready since then:
 * after a start, the Deployment's status from before the stop still says available.
 */
export async function waitForCoreDns(api: HostApi, deadline: Deadline, readySince?: number): Promise<void> {
  await waitUntil(
    readySince === undefined ? 'CoreDNS to be available' : 'CoreDNS to be ready again',
    async () => {
      const pods = await apiGetJson<PodList>(api, '/api/v1/namespaces/kube-system/pods?labelSelector=k8s-app%3Dkube-dns');
      const ready = pods.items.filter((pod) => isReady(pod) && (readySince === undefined || heardSince(readyCondition(pod), 'lastTransitionTime', readySince)));
      return ready.length > 0 || (readySince === undefined ? 'no CoreDNS pod Ready yet' : 'no CoreDNS pod Ready since the start yet');
    },
    { deadline, intervalMs: POLL_MS },
  );
}

/**
 * Waits until kube-router's policy controller has synced once on every
 * worker: its chain hooked into FORWARD exists only after a full sync, so
 * from then on a NetworkPolicy the user applies is enforced.
 */
export async function waitForKubeRouter({ engine, plan, deadline }: InCluster, workers: readonly NodePlan[] = plan.workers): Promise<void> {
  await concurrently(workers, (worker) =>
    waitUntil(
      `kube-router's policy chains on ${worker.name}`,
      async () => {
        const result = await engine.exec(worker, ['iptables', '-w', '-S', KUBE_ROUTER_FORWARD_CHAIN]);
        return result.exitCode === 0 || 'not synced yet';
      },
      { deadline, intervalMs: POLL_MS, onTimeout: () => journalTail(engine, worker, KUBE_ROUTER_UNIT) },
    ),
  );
}

/**
 * The controller-manager has published `caPem` (the CAs the masters trust) as
 * kube-root-ca.crt in each namespace: a pod started from now on trusts them.
 */
export async function waitForRootCaPublished(api: HostApi, namespaces: readonly string[], caPem: string, deadline: Deadline): Promise<void> {
  await waitUntil(
    `kube-root-ca.crt in ${namespaces.join(', ')} to hold the CAs the masters trust`,
    async () => {
      const stale: string[] = [];
      for (const namespace of namespaces) {
        const configMap = await apiGetJson<{ data?: Record<string, string> }>(api, `/api/v1/namespaces/${namespace}/configmaps/kube-root-ca.crt`).catch(() => undefined);
        if (configMap?.data?.['ca.crt']?.trim() !== caPem.trim()) stale.push(namespace);
      }
      return stale.length === 0 || `not yet in ${stale.join(', ')}`;
    },
    { deadline, intervalMs: POLL_MS },
  );
}
