import { expect } from 'vitest';
import { rotateCertificates } from '../../src/cluster/lifecycle/rotate-certificates.js';
import { upgradeCluster } from '../../src/cluster/lifecycle/upgrade.js';
import { defaultClusterSpec, nodeImageFor } from '../../src/config/defaults.js';
import { LABEL_KUBERNETES_VERSION } from '../../src/image/node-image.js';
import { loadState } from '../../src/state/cluster-state.js';
import { describeFaults, type FaultCommand, type World } from './faults.js';

/** Fault injection (see faults.ts) for the rollouts over every node: upgrade, certificate and CA rotation. */
const FROM = 'v1.36.3';
const TO = 'v1.37.2';
const spec = defaultClusterSpec({ name: 'fr', controlPlanes: 2, workers: 1, waitSeconds: 5 });
const oldSpec = defaultClusterSpec({ name: 'fr', controlPlanes: 2, workers: 1, waitSeconds: 5, kubernetesVersion: FROM, nodeImage: nodeImageFor(FROM) });

async function stateOf(world: World) {
  const state = await loadState(world.name);
  if (!state) throw new Error('the cluster has no state');
  return state;
}

const changedNodes = (world: World) => [...(world.before?.plan.masters ?? []), ...(world.before?.plan.workers ?? [])].map((n) => n.name);

/** kc rotate certificates, with --ca or without: every certificate new, the CA too or the same one. */
function rotation(ca: boolean): FaultCommand {
  return {
    name: `kc rotate certificates${ca ? ' --ca' : ''}`,
    spec,
    run: (world, signal, progress) => rotateCertificates({ engine: world.engine, progress, cluster: world.name, ca, waitSeconds: 5, apiProbe: world.apiProbe, signal }),
    async completed(world) {
      const state = await stateOf(world);
      expect(state.operation).toBeUndefined();
      expect(state.pki.apiServer.certPem).not.toBe(world.before?.pki.apiServer.certPem);
      expect(state.pki.ca.certPem === world.before?.pki.ca.certPem).toBe(!ca);
      expect(state.pki.overlapCa).toBeUndefined();
    },
    subjects: changedNodes,
  };
}

const COMMANDS: FaultCommand[] = [
  {
    name: 'kc upgrade cluster',
    spec: oldSpec,
    images: { [nodeImageFor(FROM)]: { [LABEL_KUBERNETES_VERSION]: FROM }, [nodeImageFor(TO)]: { [LABEL_KUBERNETES_VERSION]: TO } },
    run: (world, signal, progress) => upgradeCluster({ engine: world.engine, progress, cluster: world.name, kubernetesVersion: TO, waitSeconds: 5, apiProbe: world.apiProbe, signal }),
    async completed(world) {
      const state = await stateOf(world);
      expect(state.plan.spec.kubernetesVersion).toBe(TO);
      expect(state.operation).toBeUndefined();
      for (const node of [...state.plan.masters, ...state.plan.workers]) {
        expect(world.engine.nodes.get(node.name)?.spec.image, node.name).toBe(nodeImageFor(TO));
        expect(world.engine.nodes.get(node.name)?.state, node.name).toBe('running');
      }
    },
    subjects: changedNodes,
  },
  rotation(false),
  rotation(true),
];

describeFaults('fault injection: rollouts over every node', COMMANDS, 10);
