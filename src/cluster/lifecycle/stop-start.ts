import { UNIT } from '../../components/units.js';
import { allNodes, type ClusterPlan, type NodePlan } from '../../model/plan.js';
import type { Provider } from '../../provider/provider.js';
import { withClusterLock } from '../../state/lock.js';
import { Deadline } from '../../util/deadline.js';
import type { Progress } from '../../util/progress.js';
import { waitForKubeRouter } from '../actions/network-policy.js';
import { runsKubeRouter } from '../../components/index.js';
import { etcdctlCommand } from '../../components/etcd.js';
import { apiGet, hostApiServerUrl, type ApiProbe } from '../api.js';
import { journalTail, waitForBoot } from '../node-ops.js';
import { waitUntil } from '../wait.js';
import { readCluster } from './cluster-status.js';
import { kubectlVia, type ChangeContext } from './node-access.js';
import { counted } from '../../util/words.js';

export interface StopStartOptions {
  engine: Provider;
  progress: Progress;
  cluster: string;
  waitSeconds: number;
  apiProbe?: ApiProbe;
}

/** How long systemd in a node gets to stop its units before the engine kills it. */
const STOP_TIMEOUT_SECONDS = 30;

/**
 * Stop order: workers first (their pods and kubelets stop while the API is
 * still there to hear of it), then every master at once (etcd's members all
 * stop together, none is left alone without a quorum for long), then the lb.
 * Every write etcd acknowledged is on a majority's disk already, so this is
 * about a quiet shutdown, not about data.
 */
export function stopOrder(plan: ClusterPlan): NodePlan[][] {
  return [plan.workers, plan.masters, [plan.lb]].filter((group) => group.length > 0);
}

export interface StopStartResult {
  nodes: number;
  seconds: number;
  /** Nodes that were already in the wanted state. */
  unchanged: number;
}

/** `kc stop cluster`: stops every node container, in stopOrder; a stopped cluster keeps its data, addresses and host port. */
export async function stopCluster(options: StopStartOptions): Promise<StopStartResult> {
  return withClusterLock(options.cluster, async () => {
    const started = Date.now();
    const cluster = await readCluster(options.engine, options.cluster);
    let unchanged = 0;
    for (const group of stopOrder(cluster.plan)) {
      const running = group.filter((n) => cluster.statusOf(n) === 'running');
      unchanged += group.length - running.length;
      await options.progress.step(`Stopping ${group.map((n) => n.name).join(', ')}`, async (note) => {
        await Promise.all(running.map((n) => options.engine.stopContainer(n.name, STOP_TIMEOUT_SECONDS)));
        note(running.length === group.length ? 'stopped' : `${running.length} were running`);
      });
    }
    return { nodes: allNodes(cluster.plan).length, seconds: (Date.now() - started) / 1000, unchanged };
  });
}

/**
 * `kc start cluster`: starts every node at once (etcd members wait for each
 * other; kubelets retry until the API answers), then waits until the cluster
 * is usable: etcd healthy, the API server ready on the same host port, every
 * node Ready and CoreDNS available.
 */
export async function startCluster(options: StopStartOptions): Promise<StopStartResult> {
  return withClusterLock(options.cluster, async () => {
    const started = Date.now();
    const cluster = await readCluster(options.engine, options.cluster);
    const { plan } = cluster;
    const deadline = new Deadline(options.waitSeconds, `--wait ${options.waitSeconds}`, Date.now(), 'start');
    const ctx: ChangeContext = { engine: options.engine, plan, pki: cluster.state.pki, deadline };
    const missing = allNodes(plan).filter((n) => cluster.statusOf(n) === 'missing');
    if (missing.length > 0) {
      throw new Error(
        `cluster "${plan.spec.name}" lost node containers ${missing.map((n) => n.name).join(', ')} (removed outside kc): ` +
          `it cannot be started as it was. Remove what is left with \`kc delete cluster --name ${plan.spec.name}\` and create it again.`,
      );
    }
    const stopped = allNodes(plan).filter((n) => cluster.statusOf(n) !== 'running');
    // What the nodes report from here on is from this start: a kubelet posts its first status as soon as the API server answers.
    const startedAt = Date.now();
    await options.progress.step('Starting nodes', async (note) => {
      await Promise.all(stopped.map((n) => options.engine.startContainer(n.name)));
      await Promise.all(allNodes(plan).map((n) => waitForBoot(options.engine, n, deadline)));
      note(`${stopped.length} started, ${allNodes(plan).length - stopped.length} were running`);
    });
    await options.progress.step('Waiting for etcd and the API server', async (note) => {
      await waitForEtcd(ctx);
      const port = cluster.state.apiServerHostPort;
      if (port) {
        const server = hostApiServerUrl(plan.spec.apiServerAddress, port);
        const probe = options.apiProbe ?? apiGet;
        await waitUntil(
          `the API server to be ready at ${server}/readyz`,
          async () => {
            const response = await probe(server, cluster.state.pki, '/readyz');
            return response.status === 200 || `HTTP ${response.status}`;
          },
          { deadline, intervalMs: 250 },
        );
        note(`${server}`);
      }
    });
    await options.progress.step('Waiting for nodes and CoreDNS', async (note) => {
      await waitForNodesAndDns(ctx, new Set(stopped.map((n) => n.name)), startedAt);
      if (runsKubeRouter(plan)) await waitForKubeRouter(ctx);
      note(`${counted(plan.workers.length, 'worker')} Ready`);
    });
    return { nodes: allNodes(plan).length, seconds: (Date.now() - started) / 1000, unchanged: allNodes(plan).length - stopped.length };
  });
}

async function waitForEtcd(ctx: ChangeContext): Promise<void> {
  const first = ctx.plan.masters[0];
  if (!first) throw new Error('internal: no masters');
  await waitUntil(
    'etcd to be healthy',
    async () => {
      const result = await ctx.engine.exec(first.name, etcdctlCommand(ctx.plan, ['endpoint', 'health']));
      return result.exitCode === 0 || `${result.stdout}${result.stderr}`.trim().split('\n').pop() || 'unhealthy';
    },
    { deadline: ctx.deadline, intervalMs: 250, onTimeout: () => journalTail(ctx.engine, first, UNIT.etcd) },
  );
}

/**
 * Every worker Ready again (a started one's kubelet has posted status since
 * the start; one that kept running, as when only the nodes of a restarted
 * engine were stopped, posts it only every few minutes while nothing changes)
 * and CoreDNS with an available replica (one Ready since the start when every
 * worker was started).
 */
async function waitForNodesAndDns(ctx: ChangeContext, started: ReadonlySet<string>, since: number): Promise<void> {
  const via = ctx.plan.masters[0];
  if (!via) throw new Error('internal: no masters');
  await waitUntil(
    'every node to be Ready',
    async () => {
      const out = await kubectlVia(ctx, via, [
        'get', 'nodes', '-o',
        'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}@{.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}{"\\n"}{end}',
      ]);
      const notReady = out
        .split('\n')
        .filter(Boolean)
        .filter((line) => {
          const [name = '', rest = ''] = line.split('=');
          const [ready, heartbeat = ''] = rest.split('@');
          // A Ready from before the stop is stale: only a heartbeat from this start counts. Counted from the containers' start, not
          // from this wait: a kubelet posts its status once when it starts and then, while nothing changes, only every 5 minutes
          // (nodeStatusReportFrequency), so a first post made while kc waited for the API server must count.
          return ready !== 'True' || (started.has(name) && Date.parse(heartbeat) < since - 1000);
        });
      return notReady.length === 0 || `not ready yet: ${notReady.map((l) => l.split('=')[0]).join(', ')}`;
    },
    { deadline: ctx.deadline, intervalMs: 500 },
  );
  await waitUntil(
    'CoreDNS to be ready again',
    async () => {
      const out = await kubectlVia(ctx, via, [
        '-n', 'kube-system', 'get', 'pods', '-l', 'k8s-app=kube-dns', '-o',
        'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}@{.status.conditions[?(@.type=="Ready")].lastTransitionTime}{"\\n"}{end}',
      ]);
      // The Deployment's status from before the stop still says available: a pod that became Ready since the start is the proof.
      const everyWorkerStarted = ctx.plan.workers.every((w) => started.has(w.name));
      const readyNow = out.split('\n').filter((line) => {
        const [ready, readySince = ''] = line.split('@');
        return ready === 'True' && (!everyWorkerStarted || Date.parse(readySince) >= since - 1000);
      });
      return readyNow.length > 0 || 'no CoreDNS pod Ready since the start yet';
    },
    { deadline: ctx.deadline, intervalMs: 500 },
  );
}
