import type { ClusterPlan } from '../model/plan.js';

/** kc's own nftables table on every node: nothing else writes to it. */
export const BOUNDARY_TABLE = 'kc-boundary';
export const BOUNDARY_RULES_PATH = '/etc/kc/boundary.nft';

/** Named counters, so a test (or a user) reads what was stopped: `nft list counters table ip kc-boundary`. */
export const BOUNDARY_COUNTERS = { forwarded: 'forwarded-to-service-range', sent: 'sent-to-service-range' } as const;

/**
 * The cluster boundary for Service addresses, on every node: a packet to the
 * Service range that kube-proxy did not translate to a pod (no such Service,
 * no such port, or no kube-proxy yet) is rejected on the node, whether a pod
 * sent it (forward) or the node itself (output). Without this it would follow
 * the default route out through the Docker gateway.
 *
 * kube-proxy answers first where it has an answer: its filter rules (iptables
 * or nftables, at the filter priority or before it) reject a packet to a
 * Service without endpoints with ICMP port-unreachable ("connection
 * refused", which apps and probes read as "not ready yet"), and in nftables
 * mode drop one to an unallocated address. kc's chains run after them
 * (priority filter + 10): a reject or drop there is final, so kc's never sees
 * the packet; an accept there does not stop kc's. What is left is rejected
 * the way kube-proxy rejects a port a Service does not have: port-unreachable.
 *
 * Why a table of kc's own rather than a rule in iptables' FORWARD chain: a
 * chain's verdict is final only for that chain. Other controllers put their
 * chains first and end them with ACCEPT (kube-router's KUBE-ROUTER-FORWARD
 * accepts every pod packet that passes policy, and re-inserts itself at the
 * top), so a REJECT appended after them was never reached. Every base chain
 * on a netfilter hook sees the packet, and an accept in one (iptables legacy
 * or nft, kube-proxy's own nftables table, Weave's rules) does not stop the
 * next one; a reject is final wherever it happens. So this holds whatever
 * order, backend or controller the node runs, and nothing else rewrites it.
 * Both hooks see the destination after kube-proxy's DNAT (prerouting and
 * output's nat, priority -100, come first), so translated Service traffic is
 * never touched. Not a route: a local client's connect() looks up the route
 * before kube-proxy translates the address, so an unreachable Service route
 * would break every Service on the node.
 *
 * Loaded as one transaction that first deletes the table, so it can run at
 * every boot and after a restart without doubling its rules.
 */
/** After every filter chain kube-proxy, kube-router and Weave register (iptables' and nftables' filter priority is 0). */
export const BOUNDARY_PRIORITY = 'filter + 10';

export function boundaryRuleset(plan: ClusterPlan): string {
  const services = plan.spec.serviceSubnet;
  const reject = (counter: string) => `ip daddr ${services} counter name "${counter}" reject with icmp type port-unreachable`;
  return [
    `# kc: packets to Service addresses (${services}) that kube-proxy did not translate stop here, not at the Docker gateway.`,
    `table ip ${BOUNDARY_TABLE}`,
    `delete table ip ${BOUNDARY_TABLE}`,
    `table ip ${BOUNDARY_TABLE} {`,
    `\tcounter ${BOUNDARY_COUNTERS.forwarded} { }`,
    `\tcounter ${BOUNDARY_COUNTERS.sent} { }`,
    '\tchain forward {',
    `\t\ttype filter hook forward priority ${BOUNDARY_PRIORITY}; policy accept;`,
    `\t\t${reject(BOUNDARY_COUNTERS.forwarded)}`,
    '\t}',
    '\tchain output {',
    `\t\ttype filter hook output priority ${BOUNDARY_PRIORITY}; policy accept;`,
    `\t\t${reject(BOUNDARY_COUNTERS.sent)}`,
    '\t}',
    '}',
    '',
  ].join('\n');
}

/** The command that (re)loads the boundary, idempotent: see boundaryRuleset. */
export const LOAD_BOUNDARY_COMMAND = `nft -f ${BOUNDARY_RULES_PATH}`;
