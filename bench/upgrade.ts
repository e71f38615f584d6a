/**
 * The upgrade part of `npm run bench`: per run, a default-shaped cluster (2
 * masters, 2 workers) made on the previous minor and upgraded in place to the
 * newest (the pipeline behind `kc upgrade cluster`): the total and each
 * node's seconds. Both node images are built first (not timed).
 */
import { KUBERNETES_RELEASES } from '../src/artifacts/manifest.js';
import { createCluster } from '../src/cluster/create/create.js';
import { upgradeCluster } from '../src/cluster/lifecycle/upgrade.js';
import { deleteCluster } from '../src/cluster/ops/delete.js';
import { defaultClusterSpec, nodeImageFor } from '../src/config/defaults.js';
import { buildNodeImage } from '../src/image/node-image.js';
import type { SingleEngine } from '../src/provider/provider.js';
import { silentProgress, type Progress } from '../src/util/progress.js';

export interface UpgradeBenchOptions {
  engine: SingleEngine;
  progress: Progress;
  cluster: string;
  kubeconfigPath: string;
  runs: number;
}

/** One sample per run: `total`, then each node's seconds by its role and index (`master-0`, ...). */
export async function benchUpgrade(options: UpgradeBenchOptions): Promise<{ from: string; to: string; runs: Array<Record<string, number>> }> {
  const [newest, previous] = KUBERNETES_RELEASES;
  if (!newest || !previous) throw new Error('the upgrade bench needs two releases in the manifest');
  const { engine, cluster, kubeconfigPath } = options;
  for (const release of [previous, newest]) await buildNodeImage({ engine, progress: options.progress, release });
  const runs: Array<Record<string, number>> = [];
  for (let run = 0; run < options.runs; run += 1) {
    await deleteCluster({ engine, registries: engine, name: cluster, kubeconfigPath });
    try {
      const spec = defaultClusterSpec({ name: cluster, kubernetesVersion: previous.kubernetes, nodeImage: nodeImageFor(previous.kubernetes) });
      await createCluster({ engine, registries: engine, progress: silentProgress, spec, kubeconfigPath });
      const result = await upgradeCluster({ engine, progress: silentProgress, cluster, kubernetesVersion: newest.kubernetes, waitSeconds: 1800 });
      const perNode = Object.entries(result.nodeSeconds).map(([node, seconds]): [string, number] => [node.slice(cluster.length + 1), seconds]);
      runs.push({ total: result.seconds, ...Object.fromEntries(perNode) });
    } finally {
      await deleteCluster({ engine, registries: engine, name: cluster, kubeconfigPath });
    }
  }
  return { from: previous.kubernetes, to: newest.kubernetes, runs };
}
