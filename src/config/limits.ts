import type { NodeRole } from './types.js';

/**
 * Where each kind of node sits in its cluster's /24 (the plan gives nodes
 * fixed addresses, so that certificates, etcd membership and kubeconfigs stay
 * valid across restarts). The node counts a config may ask for follow from it,
 * so it lives here, below both the config checks and the plan.
 */
export const ADDRESS_OFFSET: Readonly<Record<NodeRole, number>> = { lb: 2, master: 10, worker: 100 };
export const MAX_CONTROL_PLANES = ADDRESS_OFFSET.worker - ADDRESS_OFFSET.master;

/** The registry's address on every cluster network it serves: between the lb and the engines' own /30 at .4. */
export const REGISTRY_ADDRESS_OFFSET = 3;
/**
 * The top of the /24 is for LoadBalancer Services (MetalLB's pool, see
 * components/metallb.ts): 55 addresses the host reaches on the cluster's
 * network. Workers stop below it.
 */
export const LOAD_BALANCER_OFFSETS = { first: 200, last: 254 } as const;
export const MAX_WORKERS = LOAD_BALANCER_OFFSETS.first - ADDRESS_OFFSET.worker;

/**
 * Engines one cluster may span, the local one included: a swarm overlay gives
 * each engine an address of its own, and kc keeps four for them (the /30 at
 * .4, between the lb and the first master: model/engines.ts).
 */
export const MAX_ENGINES_PER_CLUSTER = 4;
