import { nodeExtrasFor } from '../config/defaults.js';
import { ADDRESS_OFFSET, MAX_ENGINES_PER_CLUSTER } from '../config/limits.js';
import { formatCidr, parseCidr } from '../util/ipv4.js';
import { LOCAL_ENGINE, type ClusterSpec, type NodeRole } from '../config/types.js';

/**
 * Which Docker engine a node runs on: a name from the spec's `engines`, or
 * undefined for the engine kc runs on (the lb always: it publishes the API
 * server on this host).
 */
export function nodeEngine(spec: ClusterSpec, role: NodeRole, index: number): string | undefined {
  const engine = nodeExtrasFor(spec, role, index).engine;
  return engine === undefined || engine === LOCAL_ENGINE ? undefined : engine;
}

export { remoteEnginesInUse, spansEngines } from '../config/defaults.js';

/** An overlay's MTU: VXLAN's 50 bytes of headers off the usual 1500. */
export const OVERLAY_MTU = 1450;

/**
 * The addresses of a cluster network that Docker may hand out itself. A swarm
 * overlay gives each engine that joins it an address of its own (its
 * `lb-<network>` endpoint, taken from the start of the subnet): kc keeps those
 * to a /30 between the lb (.2) and the first master (.10), so they never take
 * a node's fixed address (MAX_ENGINES_PER_CLUSTER of them).
 */
const ENGINE_RANGE_OFFSET = 4;

export function engineOwnRange(nodeSubnet: string): string {
  const subnet = parseCidr(nodeSubnet);
  if (ENGINE_RANGE_OFFSET <= ADDRESS_OFFSET.lb || ENGINE_RANGE_OFFSET + MAX_ENGINES_PER_CLUSTER > ADDRESS_OFFSET.master) {
    throw new Error('internal: the engines\' own addresses overlap the nodes\' ones');
  }
  return formatCidr({ base: subnet.base + ENGINE_RANGE_OFFSET, prefix: 30 });
}
