import { readFile } from 'node:fs/promises';
import { expect } from 'vitest';
import { createCluster } from '../../src/cluster/create/create.js';
import { restoreSnapshot, saveSnapshot } from '../../src/cluster/lifecycle/snapshot.js';
import { startCluster, stopCluster } from '../../src/cluster/lifecycle/stop-start.js';
import { deleteCluster } from '../../src/cluster/ops/delete.js';
import { defaultClusterSpec } from '../../src/config/defaults.js';
import { allNodes } from '../../src/model/plan.js';
import { generateClusterPki } from '../../src/pki/cluster-pki.js';
import { loadState } from '../../src/state/cluster-state.js';
import { unpackSnapshot } from '../../src/state/snapshot-archive.js';
import { silentProgress as silent } from '../../src/util/progress.js';
import { fakeRegistryImage } from './fake-cluster.js';
import { describeFaults, type FaultCommand, type World } from './faults.js';

/** Fault injection (see faults.ts) for the commands on a whole cluster: create, stop, start, snapshots, delete. */
const spec = defaultClusterSpec({ name: 'fc', controlPlanes: 2, workers: 1, waitSeconds: 5 });
const names = allNodes;

async function stateOf(world: World) {
  const state = await loadState(world.name);
  if (!state) throw new Error('the cluster has no state');
  return state;
}

/** Every node of the cluster's plan in the engine state `wanted`. */
async function expectNodes(world: World, wanted: 'running' | 'exited'): Promise<void> {
  for (const node of names((await stateOf(world)).plan)) expect(world.engine.nodes.get(node.name)?.state, node.name).toBe(wanted);
}

const planNodes = (world: World) => (world.before ? names(world.before.plan).map((n) => n.name) : []);

const COMMANDS: FaultCommand[] = [
  {
    name: 'kc create cluster',
    spec,
    fresh: true,
    run: (world, signal, progress) =>
      createCluster({
        engine: world.engine,
        registries: world.engine,
        progress,
        spec,
        kubeconfigPath: world.kubeconfig,
        apiProbe: world.apiProbe,
        generatePki: generateClusterPki,
        ensureRegistryImage: fakeRegistryImage,
        portIsFree: async () => true,
        signal,
      }),
    async completed(world) {
      await expectNodes(world, 'running');
      expect(await readFile(world.kubeconfig, 'utf8')).toContain('kc-fc');
    },
    subjects: () => [],
  },
  {
    name: 'kc stop cluster',
    spec,
    run: (world, signal, progress) => stopCluster({ engine: world.engine, progress, cluster: world.name, waitSeconds: 5, signal }),
    completed: (world) => expectNodes(world, 'exited'),
    subjects: planNodes,
  },
  {
    name: 'kc start cluster',
    spec,
    prepare: async (world) => void (await stopCluster({ engine: world.engine, progress: silent, cluster: world.name, waitSeconds: 5 })),
    run: (world, signal, progress) => startCluster({ engine: world.engine, registries: world.engine, progress, cluster: world.name, waitSeconds: 5, apiProbe: world.apiProbe, signal }),
    completed: (world) => expectNodes(world, 'running'),
    subjects: planNodes,
  },
  {
    name: 'kc snapshot save',
    spec,
    run: (world, signal, progress) => saveSnapshot({ engine: world.engine, progress, cluster: world.name, file: world.snapshotFile, signal }),
    async completed(world) {
      const { manifest } = await unpackSnapshot(await readFile(world.snapshotFile), world.snapshotFile);
      expect(manifest.cluster).toBe('fc');
    },
    subjects: () => [],
  },
  {
    name: 'kc snapshot restore',
    spec,
    prepare: async (world) => void (await saveSnapshot({ engine: world.engine, progress: silent, cluster: world.name, file: world.snapshotFile })),
    run: (world, signal, progress) =>
      restoreSnapshot({ engine: world.engine, progress, cluster: world.name, file: world.snapshotFile, fromOtherCluster: false, waitSeconds: 5, apiProbe: world.apiProbe, signal }),
    async completed(world) {
      expect((await stateOf(world)).journal).toBeUndefined();
      await expectNodes(world, 'running');
    },
    subjects: (world) => (world.before?.plan.masters ?? []).map((m) => m.name),
  },
  {
    name: 'kc delete cluster',
    spec,
    run: (world) => deleteCluster({ engine: world.engine, registries: world.engine, name: world.name, kubeconfigPath: world.kubeconfig }),
    async completed(world) {
      expect(world.engine.isEmpty()).toBe(true);
      expect(await loadState(world.name)).toBeUndefined();
      await expect(readFile(world.kubeconfig, 'utf8')).resolves.not.toContain('kc-fc');
    },
    subjects: () => [],
  },
];

describeFaults('fault injection: commands on a whole cluster', COMMANDS, 5);
