import { remoteEnginesInUse, spansEngines } from '../../model/engines.js';
import { cidrsOverlap, parseCidr } from '../../util/ipv4.js';
import type { CreateInput, Step } from './context.js';

/**
 * Every engine the cluster uses answers and can take part (for a cluster
 * across engines: the same Docker version, swarm mode, no foreign swarm),
 * and, across engines, no network on any of them overlaps the pod or Service
 * range: the nodes' second interface (docker_gwbridge) and other overlays
 * must not shadow them. Creates nothing.
 */
export const checkEngines: Step<CreateInput, void> = {
  title: 'Checking engines',
  async run({ engine, spec }, note) {
    const version = await engine.ensureReachable();
    if (!spansEngines(spec)) {
      note(`Docker ${version}`);
      return;
    }
    const used = await engine.usedSubnets();
    for (const [field, range] of [
      ['podSubnet', spec.podSubnet],
      ['serviceSubnet', spec.serviceSubnet],
    ] as const) {
      const clash = used.find((subnet) => cidrsOverlap(parseCidr(subnet), parseCidr(range)));
      if (clash) {
        throw new Error(`the ${field} ${range} overlaps ${clash}, a network on one of the cluster's engines: pick another range (networking.${field}) or remove that network`);
      }
    }
    note(`Docker ${version} on ${remoteEnginesInUse(spec).length + 1} engines`);
  },
};
