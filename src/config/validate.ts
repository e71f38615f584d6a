import { MAX_CONTROL_PLANES, MAX_WORKERS } from '../cluster/plan.js';
import { cidrsOverlap, parseCidr, parseIpv4 } from '../util/ipv4.js';
import type { ClusterSpec, CniMode } from './types.js';

export const CNI_MODES: readonly CniMode[] = ['weave', 'bridge', 'none'];

/** A bad value in what the user asked for: names the field, the value and what is allowed. */
export class ValidationError extends Error {
  constructor(readonly field: string, value: unknown, allowed: string) {
    super(`${field}: ${JSON.stringify(value)} is not valid; ${allowed}`);
    this.name = 'ValidationError';
  }
}

/** Container names are `<name>-master-N`: DNS labels (63 chars) need room for the suffix. */
export const MAX_NAME_LENGTH = 40;
const NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function validateClusterName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name) || name.length > MAX_NAME_LENGTH) {
    throw new ValidationError(
      field,
      name,
      `use lower-case letters, digits and '-', starting and ending with a letter or digit, at most ${MAX_NAME_LENGTH} characters (e.g. "dev")`,
    );
  }
  return name;
}

function validateCount(field: string, value: number, min: number, max: number, hint: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, value, `use a whole number from ${min} to ${max}${hint}`);
  }
}

/** Checks a whole spec; returns it unchanged when valid, throws the first problem otherwise. */
export function validateClusterSpec(spec: ClusterSpec): ClusterSpec {
  validateClusterName(spec.name);
  validateCount('control-planes', spec.controlPlanes, 1, MAX_CONTROL_PLANES, ' (3 or more for an etcd quorum that survives a failure)');
  validateCount('workers', spec.workers, 1, MAX_WORKERS, ' (pods run on workers only)');
  validateCount('api-port', spec.apiServerPort, 0, 65535, ' (0 picks a free port)');
  validateCount('wait', spec.waitSeconds, 1, 24 * 3600, ' seconds');
  try {
    parseIpv4(spec.apiServerAddress);
  } catch {
    throw new ValidationError('api-address', spec.apiServerAddress, 'use an IPv4 address of this host, such as 127.0.0.1');
  }
  if (!CNI_MODES.includes(spec.cni)) throw new ValidationError('cni', spec.cni, `use one of ${CNI_MODES.join(', ')}`);
  const pods = parseSubnet('pod-subnet', spec.podSubnet, 8, 16);
  const services = parseSubnet('service-subnet', spec.serviceSubnet, 8, 24);
  if (cidrsOverlap(pods, services)) {
    throw new ValidationError('service-subnet', spec.serviceSubnet, `it must not overlap the pod subnet ${spec.podSubnet}`);
  }
  if (2 ** (24 - pods.prefix) <= spec.workers) {
    throw new ValidationError('pod-subnet', spec.podSubnet, `it needs room for one /24 per worker (${spec.workers} workers)`);
  }
  if (!/^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+)?$/.test(spec.nodeImage)) {
    throw new ValidationError('image', spec.nodeImage, 'use an image reference such as kc/node:v1.37.2');
  }
  return spec;
}

function parseSubnet(field: string, value: string, minPrefix: number, maxPrefix: number) {
  let cidr;
  try {
    cidr = parseCidr(value);
  } catch (error) {
    throw new ValidationError(field, value, (error as Error).message.replace(/^.*? is /, 'it is '));
  }
  if (cidr.prefix < minPrefix || cidr.prefix > maxPrefix) {
    throw new ValidationError(field, value, `use a prefix length from /${minPrefix} to /${maxPrefix}`);
  }
  return cidr;
}
