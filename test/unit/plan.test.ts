import { describe, expect, it } from 'vitest';
import { allNodes, MAX_CONTROL_PLANES, MAX_WORKERS, planCluster } from '../../src/model/plan.js';
import { defaultClusterSpec } from '../../src/config/defaults.js';
import { cidrsOverlap, parseCidr, parseIpv4 } from '../../src/util/ipv4.js';

const NODE_SUBNET = '172.30.7.0/24';
const spec = (overrides = {}) =>
  defaultClusterSpec({ name: 'demo', controlPlanes: 3, workers: 4, podSubnet: '10.200.0.0/16', serviceSubnet: '10.32.0.0/16', ...overrides });

/** True when the address lies inside the CIDR. */
function contains(cidr: string, ip: string): boolean {
  const { base, prefix } = parseCidr(cidr);
  const value = parseIpv4(ip);
  return value >= base && value < base + 2 ** (32 - prefix);
}

describe('planCluster', () => {
  const plan = planCluster(spec(), NODE_SUBNET);

  it('puts the lb at .2, masters from .10 and workers from .100, each named <cluster>-<role>[-N]', () => {
    expect(plan.lb).toMatchObject({ name: 'demo-lb', role: 'lb', ip: '172.30.7.2' });
    expect(plan.masters.map((m) => [m.name, m.ip])).toEqual([
      ['demo-master-0', '172.30.7.10'],
      ['demo-master-1', '172.30.7.11'],
      ['demo-master-2', '172.30.7.12'],
    ]);
    expect(plan.workers.map((w) => [w.name, w.ip])).toEqual([
      ['demo-worker-0', '172.30.7.100'],
      ['demo-worker-1', '172.30.7.101'],
      ['demo-worker-2', '172.30.7.102'],
      ['demo-worker-3', '172.30.7.103'],
    ]);
    expect(plan.network).toEqual({ name: 'kc-demo', subnet: NODE_SUBNET, gateway: '172.30.7.1' });
  });

  it('gives every worker its own /24 of the pod range, and nodes other than workers none', () => {
    const subnets = plan.workers.map((w) => w.podSubnet ?? 'missing');
    expect(subnets).toEqual(['10.200.1.0/24', '10.200.2.0/24', '10.200.3.0/24', '10.200.4.0/24']);
    for (const [i, a] of subnets.entries()) {
      expect(cidrsOverlap(parseCidr(a), parseCidr(plan.spec.podSubnet)), a).toBe(true);
      expect(cidrsOverlap(parseCidr(a), parseCidr(plan.spec.serviceSubnet)), a).toBe(false);
      for (const b of subnets.slice(i + 1)) expect(cidrsOverlap(parseCidr(a), parseCidr(b)), `${a} vs ${b}`).toBe(false);
    }
    expect([plan.lb, ...plan.masters].map((n) => n.podSubnet)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('takes the kubernetes and DNS service addresses from the service range', () => {
    expect(plan.kubernetesServiceIP).toBe('10.32.0.1');
    expect(plan.dnsServiceIP).toBe('10.32.0.10');
    expect(contains(plan.spec.serviceSubnet, plan.dnsServiceIP)).toBe(true);
    expect(plan.internalApiServerUrl).toBe('https://demo-lb:6443');
    expect(plan.clusterDomain).toBe('cluster.local');
  });

  it('gives the same plan for the same inputs', () => {
    const again = planCluster(spec(), NODE_SUBNET);
    expect(again).not.toBe(plan);
    expect(again).toEqual(plan);
    expect(planCluster(spec(), '172.30.8.0/24')).not.toEqual(plan);
  });

  it('keeps every address unique and inside the node subnet at the largest cluster', () => {
    const big = planCluster(spec({ controlPlanes: MAX_CONTROL_PLANES, workers: MAX_WORKERS }), NODE_SUBNET);
    const ips = allNodes(big).map((n) => n.ip);
    expect(ips).toHaveLength(1 + MAX_CONTROL_PLANES + MAX_WORKERS);
    expect(new Set(ips).size).toBe(ips.length);
    expect(ips).not.toContain(big.network.gateway);
    for (const ip of ips) {
      expect(contains(NODE_SUBNET, ip), ip).toBe(true);
      expect(ip, 'broadcast address').not.toBe('172.30.7.255');
    }
    const podSubnets = big.workers.map((w) => w.podSubnet);
    expect(new Set(podSubnets).size).toBe(MAX_WORKERS);
  });

  it('refuses a node subnet smaller than a /24', () => {
    expect(() => planCluster(spec(), '172.30.7.0/25')).toThrow(/smaller than a \/24/);
  });
});
