import { bootBundle, runsKubeRouter } from '../../components/index.js';
import { haproxySetServerCommand } from '../../components/haproxy.js';
import { UNIT } from '../../components/units.js';
import type { NodePlan } from '../../model/plan.js';
import { renewLeafCertificates } from '../../pki/cluster-pki.js';
import { certificateInventory } from '../../pki/inventory.js';
import { execOrThrow, type Provider } from '../../provider/provider.js';
import { saveState, type ClusterState } from '../../state/cluster-state.js';
import { mergeIntoKubeconfigFile } from '../../state/kubeconfig-file.js';
import { withClusterLock } from '../../state/lock.js';
import { Deadline } from '../../util/deadline.js';
import { UsageError } from '../../util/errors.js';
import { waitUntil } from '../../util/poll.js';
import type { Progress } from '../../util/progress.js';
import { counted } from '../../util/words.js';
import { hostApiOf, type ApiProbe, type HostApi } from '../kube/api.js';
import { waitForNodesReady } from '../kube/waits.js';
import { deliverFiles, journalTail } from '../node/units.js';
import { adminEntry } from '../ops/kubeconfig.js';
import { readCluster, requireNoUnfinishedChange, requireRunning } from '../ops/status.js';
import { kubectlVia, waitForHaproxyBackends, type ChangeContext } from './node-access.js';

export interface RotateOptions {
  engine: Provider;
  progress: Progress;
  cluster: string;
  /** A new CA as well (not done yet: refused with what to do instead). */
  ca: boolean;
  waitSeconds: number;
  apiProbe?: ApiProbe;
}

export interface RotateResult {
  certificates: number;
  seconds: number;
}

/** What uses a master's certificates besides etcd (which reads its files at every new connection: no restart). */
const MASTER_UNITS = [UNIT.apiServer, UNIT.controllerManager, UNIT.scheduler, UNIT.kubeProxy];

/**
 * `kc rotate certificates`: every leaf certificate issued again by the
 * cluster's CA (renewLeafCertificates), recorded in the state first, then
 * rolled out one node at a time with the API answering through the lb
 * throughout: a master is drained from HAProxy, gets its files, restarts its
 * API server and controllers, and is taken back once its API server is
 * ready; then each worker's kubelet, kube-proxy and kube-router restart on
 * the new files. Old and new certificates share the CA, so a rotation that
 * stops part-way leaves a working cluster; the state records which nodes
 * have their new files, and running it again continues with the rest.
 */
export async function rotateCertificates(options: RotateOptions): Promise<RotateResult> {
  if (options.ca) {
    throw new UsageError(
      '--ca (a new CA, with an overlap in which both are trusted) is not supported yet: ' +
        '`kc rotate certificates` without --ca renews every certificate the CA signs; the CA itself is valid for 10 years from the create (`kc get certificates` shows when).',
    );
  }
  return withClusterLock(options.cluster, async () => {
    const started = Date.now();
    const cluster = await readCluster(options.engine, options.cluster);
    requireRunning(cluster, 'rotate certificates');
    requireNoUnfinishedChange(cluster, 'rotate certificates', 'rotate-certificates');
    const { engine, progress } = options;
    const deadline = new Deadline(options.waitSeconds, `--wait ${options.waitSeconds}`, Date.now(), 'rotation');
    const resumed = cluster.state.operation?.kind === 'rotate-certificates' ? cluster.state.operation : undefined;
    let state: ClusterState;
    if (resumed) {
      state = cluster.state;
      progress.info(`Continuing the rotation begun ${resumed.startedAt} (${resumed.done.length ? `done: ${resumed.done.join(', ')}` : 'no node done yet'})`);
    } else {
      state = await progress.step('Issuing new certificates', async (note) => {
        const renewed: ClusterState = {
          ...cluster.state,
          pki: await renewLeafCertificates(cluster.state.pki, cluster.plan),
          operation: { kind: 'rotate-certificates', startedAt: new Date().toISOString(), done: [] },
        };
        // The state first: should the rollout stop, the next run delivers the certificates kc has, not new ones.
        await saveState(renewed);
        for (const path of renewed.kubeconfigPaths) await mergeIntoKubeconfigFile(path, adminEntry(renewed, false));
        note(`signed by ${cluster.plan.spec.name}-ca; admin kubeconfig updated in ${counted(renewed.kubeconfigPaths.length, 'file')}`);
        return renewed;
      });
    }
    const ctx: ChangeContext = { engine, plan: state.plan, pki: state.pki, deadline };
    const api = hostApiOf(state, options.apiProbe);
    const done = new Set(state.operation?.done ?? []);
    for (const node of [...state.plan.masters, ...state.plan.workers].filter((n) => !done.has(n.name))) {
      await progress.step(`Rotating ${node.name}`, () => (node.role === 'master' ? rotateMaster(ctx, node) : rotateWorker(ctx, api, node)));
      done.add(node.name);
      state = { ...state, operation: { kind: 'rotate-certificates', startedAt: state.operation?.startedAt ?? new Date().toISOString(), done: [...done] } };
      await saveState(state);
    }
    const { operation: _finished, ...finished } = state;
    await saveState(finished);
    return { certificates: certificateInventory(state.plan, state.pki).length, seconds: (Date.now() - started) / 1000 };
  });
}

/** One worker: new files, kubelet, kube-proxy and kube-router restarted, its Ready heartbeat from after the restart. */
async function rotateWorker(ctx: ChangeContext, api: HostApi, worker: NodePlan): Promise<void> {
  const { engine, plan, deadline } = ctx;
  await deliverFiles(engine, worker, { files: bootBundle(plan, worker, ctx.pki).files, units: [] });
  const restartedAt = Date.now();
  const units = [UNIT.kubelet, UNIT.kubeProxy, ...(runsKubeRouter(plan) ? [UNIT.kubeRouter] : [])];
  await execOrThrow(engine, worker.name, ['systemctl', 'restart', ...units]);
  await waitForNodesReady(api, [worker.name], deadline, { fresh: { started: new Set([worker.name]), since: restartedAt } });
}

/**
 * One master: out of HAProxy, new files, its control plane restarted and
 * ready, back in HAProxy. A cluster's only master is not drained (there is
 * no other to send connections to): its API is away while it restarts.
 */
async function rotateMaster(ctx: ChangeContext, master: NodePlan): Promise<void> {
  const { engine, plan } = ctx;
  const drains = plan.masters.length > 1;
  if (drains) await execOrThrow(engine, plan.lb.name, haproxySetServerCommand(master.name, 'drain'));
  try {
    await deliverFiles(engine, master, { files: bootBundle(plan, master, ctx.pki).files, units: [] });
    await execOrThrow(engine, master.name, ['systemctl', 'restart', ...MASTER_UNITS]);
    await waitUntil(
      `the API server on ${master.name} to be ready`,
      async () => {
        // Its own API server, by the admin kubeconfig on it: the lb sends it nothing while it is drained.
        const readyz = await kubectlVia(ctx, master, ['get', '--raw', '/readyz']).catch((error: unknown) => String(error));
        return readyz.trim() === 'ok' || readyz.trim();
      },
      { deadline: ctx.deadline, intervalMs: 250, onTimeout: () => journalTail(engine, master, UNIT.apiServer) },
    );
  } finally {
    if (drains) await execOrThrow(engine, plan.lb.name, haproxySetServerCommand(master.name, 'ready'));
  }
  await waitForHaproxyBackends(ctx);
}
