import { allNodes, type ClusterPlan, type NodePlan } from '../../model/plan.js';
import type { Provider } from '../../provider/provider.js';
import { attachClusterRegistry } from '../registry/registry.js';
import { withClusterLock } from '../../state/lock.js';
import { Deadline } from '../../util/deadline.js';
import type { Progress } from '../../util/progress.js';
import { waitForApiServer, waitForCoreDns, waitForEtcd, waitForKubeRouter, waitForNodesReady } from '../kube/waits.js';
import { runsKubeRouter } from '../../components/index.js';
import { hostApiOf, type ApiProbe } from '../kube/api.js';
import { waitForBoot } from '../node/units.js';
import { readCluster } from '../ops/status.js';
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
        await Promise.all(running.map((n) => options.engine.stopNode(n.name, STOP_TIMEOUT_SECONDS)));
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
 * node Ready and CoreDNS available. The registry runs again if it was stopped.
 */
export async function startCluster(options: StopStartOptions): Promise<StopStartResult> {
  return withClusterLock(options.cluster, async () => {
    const started = Date.now();
    const cluster = await readCluster(options.engine, options.cluster);
    const { plan } = cluster;
    const deadline = new Deadline(options.waitSeconds, `--wait ${options.waitSeconds}`, Date.now(), 'start');
    const ctx = { engine: options.engine, plan, deadline };
    const api = hostApiOf(cluster.state, options.apiProbe);
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
      await Promise.all(stopped.map((n) => options.engine.startNode(n.name)));
      await Promise.all(allNodes(plan).map((n) => waitForBoot(options.engine, n, deadline)));
      note(`${stopped.length} started, ${allNodes(plan).length - stopped.length} were running`);
    });
    // The shared registry restarts with the engine; one stopped by hand (or removed) is brought back for this cluster.
    if (plan.spec.addons.registry) await options.progress.step('Starting registry', async (note) => note(await attachClusterRegistry(options.engine, plan)));
    await options.progress.step('Waiting for etcd and the API server', async (note) => {
      await waitForEtcd(ctx);
      await waitForApiServer(api, deadline);
      note(api.server);
    });
    await options.progress.step('Waiting for nodes and CoreDNS', async (note) => {
      // A Ready from before the stop is stale: only a heartbeat (or a CoreDNS pod Ready) since the containers started counts.
      const fresh = { started: new Set(stopped.map((n) => n.name)), since: startedAt };
      await waitForNodesReady(api, plan.workers.map((w) => w.name), deadline, { fresh });
      const everyWorkerStarted = plan.workers.every((w) => fresh.started.has(w.name));
      await waitForCoreDns(api, deadline, everyWorkerStarted ? startedAt : undefined);
      if (runsKubeRouter(plan)) await waitForKubeRouter(ctx);
      note(`${counted(plan.workers.length, 'worker')} Ready`);
    });
    return { nodes: allNodes(plan).length, seconds: (Date.now() - started) / 1000, unchanged: allNodes(plan).length - stopped.length };
  });
}
