import type { BootBundle } from '../../components/index.js';
import type { ClusterPlan, NodePlan } from '../../model/plan.js';
import type { Nodes, PublishedPort } from '../../provider/provider.js';
import { counted } from '../../util/words.js';
import { createNodeContainer } from './container.js';

/**
 * Brings a node up, the one way every node comes up (create, kc create
 * node, kc upgrade cluster): its container is created with every file of `boot` in place and
 * links that start some units as systemd boots, so no call goes into the
 * node before there is something to check. Says what it did, for -v.
 */
export async function bootNode(
  engine: Pick<Nodes, 'createNode'>,
  plan: ClusterPlan,
  node: NodePlan,
  apiServerHostPort: number,
  boot: BootBundle,
  keptPorts: readonly PublishedPort[] = [],
): Promise<string> {
  await createNodeContainer(engine, plan, node, apiServerHostPort, [...boot.files, ...boot.links], keptPorts);
  const atBoot = boot.links.map((link) => link.path.split('/').pop()).join(', ');
  const later = boot.startedLater.length > 0 ? `; later ${boot.startedLater.join(', ')}` : '';
  return `${node.name}: ${counted(boot.files.length, 'file')}; ${atBoot ? `starts ${atBoot} as it boots` : 'starts nothing as it boots'}${later}`;
}
