import { cidrsOverlap, formatCidr, parseCidr, type Cidr } from '../util/ipv4.js';

/** Where kc puts cluster networks: one /24 each, inside a range Docker's default pools leave alone. */
export const CLUSTER_NETWORK_RANGE = '172.30.0.0/16';

/** The first /24 of the range that overlaps neither a Docker network nor a host route. */
export function pickNodeSubnet(taken: string[]): string {
  const range = parseCidr(CLUSTER_NETWORK_RANGE);
  const used: Cidr[] = taken.flatMap((t) => {
    try {
      return [parseCidr(t)];
    } catch {
      return [];
    }
  });
  for (let i = 0; i < 256; i++) {
    const candidate: Cidr = { base: range.base + i * 256, prefix: 24 };
    if (!used.some((u) => cidrsOverlap(u, candidate))) return formatCidr(candidate);
  }
  throw new Error(`no free /24 left in ${CLUSTER_NETWORK_RANGE}: delete clusters you no longer need (kc delete clusters --all)`);
}
