/**
 * The `stopstart` shape of `npm run bench`: on the default cluster (lb, 2
 * masters, 2 workers, every add-on), KC_BENCH_RUNS rounds of `kc stop
 * cluster` then `kc start cluster`, each timed as the user runs it (the
 * pipeline functions behind the commands), and then how long from the start
 * until a LoadBalancer Service answers from the host again: what a user's app
 * behind its address needs, not only the API. The Service is MetalLB's own
 * controller's metrics port, so the benchmark needs no image of its own.
 */
import { createCluster } from '../src/cluster/create/create.js';
import { kubectl } from '../src/cluster/kube/kubectl.js';
import { deleteCluster } from '../src/cluster/ops/delete.js';
import { startCluster, stopCluster } from '../src/cluster/lifecycle/stop-start.js';
import { METALLB_NAMESPACE } from '../src/components/metallb.js';
import { defaultClusterSpec } from '../src/config/defaults.js';
import type { SingleEngine } from '../src/provider/provider.js';
import { loadState } from '../src/state/cluster-state.js';
import { waitUntil } from '../src/util/poll.js';
import { silentProgress } from '../src/util/progress.js';

export interface StopStartBenchOptions {
  engine: SingleEngine;
  cluster: string;
  kubeconfigPath: string;
  nodeImage?: string;
  rounds: number;
}

const SERVICE = 'bench-stopstart';

/** A LoadBalancer Service in front of MetalLB's controller (its metrics on 7472); resolves to its address. */
async function loadBalancerService(options: StopStartBenchOptions): Promise<string> {
  const state = await loadState(options.cluster);
  if (!state) throw new Error(`cluster ${options.cluster} has no state`);
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: SERVICE, namespace: METALLB_NAMESPACE },
    spec: { type: 'LoadBalancer', selector: { app: 'metallb', component: 'controller' }, ports: [{ port: 80, targetPort: 7472 }] },
  };
  await kubectl(options.engine, state.plan, ['apply', '-f', '-'], JSON.stringify(service));
  let address = '';
  await waitUntil('the bench Service to get an address', async () => {
    address = (await kubectl(options.engine, state.plan, ['-n', METALLB_NAMESPACE, 'get', 'service', SERVICE, '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'])).trim();
    return address !== '' || 'pending';
  }, { timeoutMs: 120_000, intervalMs: 500 });
  return address;
}

/** Seconds until `url` answers 200 from the host. */
async function untilAnswering(url: string): Promise<void> {
  await waitUntil(`${url} to answer`, async () => {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    return response?.status === 200 || `no answer yet`;
  }, { timeoutMs: 300_000, intervalMs: 200 });
}

/** Per round: stop, start, and start → the LoadBalancer answering; stop + start until it answers. */
export async function benchStopStart(options: StopStartBenchOptions): Promise<Array<Record<string, number>>> {
  const { engine, cluster } = options;
  await deleteCluster({ engine, registries: engine, name: cluster, kubeconfigPath: options.kubeconfigPath });
  await createCluster({
    engine,
    registries: engine,
    progress: silentProgress,
    spec: defaultClusterSpec({ name: cluster, ...(options.nodeImage ? { nodeImage: options.nodeImage } : {}) }),
    kubeconfigPath: options.kubeconfigPath,
  });
  const rounds: Array<Record<string, number>> = [];
  try {
    const url = `http://${await loadBalancerService(options)}/metrics`;
    await untilAnswering(url);
    const common = { engine, registries: engine, progress: silentProgress, cluster, waitSeconds: 300 };
    for (let round = 0; round < options.rounds; round += 1) {
      const stopped = Date.now();
      await stopCluster(common);
      const started = Date.now();
      await startCluster(common);
      const startDone = Date.now();
      await untilAnswering(url);
      const answering = Date.now();
      rounds.push({
        stop: (started - stopped) / 1000,
        start: (startDone - started) / 1000,
        'start until the LoadBalancer answers': (answering - started) / 1000,
        'stop + start until it answers': (answering - stopped) / 1000,
      });
    }
  } finally {
    await deleteCluster({ engine, registries: engine, name: cluster, kubeconfigPath: options.kubeconfigPath });
  }
  return rounds;
}
