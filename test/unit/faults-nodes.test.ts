import { expect } from 'vitest';
import { addNodes } from '../../src/cluster/lifecycle/add-node.js';
import { removeNodes } from '../../src/cluster/lifecycle/remove-node.js';
import { defaultClusterSpec } from '../../src/config/defaults.js';
import { loadState } from '../../src/state/cluster-state.js';
import { describeFaults, type FaultCommand, type World } from './faults.js';

/** Fault injection (see faults.ts) for the commands that add and remove nodes. */
const spec = (controlPlanes: number, workers: number) => defaultClusterSpec({ name: 'fi', controlPlanes, workers, waitSeconds: 5 });

async function planned(world: World): Promise<{ masters: string[]; workers: string[] }> {
  const state = await loadState(world.name);
  return { masters: state?.plan.masters.map((m) => m.name) ?? [], workers: state?.plan.workers.map((w) => w.name) ?? [] };
}

function expectRunning(world: World, node: string): void {
  expect(world.engine.nodes.get(node)?.state, node).toBe('running');
}

const COMMANDS: FaultCommand[] = [
  {
    name: 'kc create node --role worker',
    spec: spec(2, 1),
    run: (world, signal, progress) => addNodes({ engine: world.engine, progress, cluster: world.name, role: 'worker', count: 1, waitSeconds: 5, apiProbe: world.apiProbe, signal }),
    async completed(world) {
      expect((await planned(world)).workers).toEqual(['fi-worker-0', 'fi-worker-1']);
      expectRunning(world, 'fi-worker-1');
    },
    subjects: () => ['fi-worker-1'],
  },
  {
    name: 'kc create node --role master',
    spec: spec(2, 1),
    run: (world, signal, progress) => addNodes({ engine: world.engine, progress, cluster: world.name, role: 'master', count: 1, waitSeconds: 5, apiProbe: world.apiProbe, signal }),
    async completed(world) {
      expect((await planned(world)).masters).toEqual(['fi-master-0', 'fi-master-1', 'fi-master-2']);
      expect(world.controlPlane.membership).toEqual(['fi-master-0', 'fi-master-1', 'fi-master-2']);
      expectRunning(world, 'fi-master-2');
    },
    subjects: () => ['fi-master-2'],
  },
  {
    name: 'kc delete node <worker>',
    spec: spec(2, 2),
    run: (world, signal, progress) => removeNodes({ engine: world.engine, progress, cluster: world.name, nodes: ['fi-worker-1'], waitSeconds: 5, force: false, signal }),
    async completed(world) {
      expect((await planned(world)).workers).toEqual(['fi-worker-0']);
      expect(world.engine.nodes.has('fi-worker-1')).toBe(false);
    },
    subjects: () => ['fi-worker-1'],
  },
  {
    name: 'kc delete node <master>',
    spec: spec(3, 1),
    run: (world, signal, progress) => removeNodes({ engine: world.engine, progress, cluster: world.name, nodes: ['fi-master-0'], waitSeconds: 5, force: false, signal }),
    async completed(world) {
      expect((await planned(world)).masters).toEqual(['fi-master-1', 'fi-master-2']);
      expect(world.controlPlane.membership).toEqual(['fi-master-1', 'fi-master-2']);
      expect(world.engine.nodes.has('fi-master-0')).toBe(false);
    },
    subjects: () => ['fi-master-0'],
  },
];

describeFaults('fault injection: adding and removing nodes', COMMANDS, 10);
