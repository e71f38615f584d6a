import { releaseOf, supportedVersions } from '../artifacts/manifest.js';
import { MAX_CONTROL_PLANES, MAX_WORKERS } from './limits.js';
import { cidrsOverlap, parseCidr, parseIpv4, type Cidr } from '../util/ipv4.js';
import type { ClusterSpec, CniMode, Component, IngressPorts, KubeProxyMode, NetworkPolicyMode, NodeExtras, PortMapping, PortProtocol } from './types.js';
import { INGRESS_LISTEN_ADDRESS } from './defaults.js';
import { counted } from '../util/words.js';
import { isImageReference } from '../util/image-ref.js';

export const CNI_MODES: readonly CniMode[] = ['weave', 'bridge', 'none'];
export const NETWORK_POLICY_MODES: readonly NetworkPolicyMode[] = ['kube-router', 'none'];
export const KUBE_PROXY_MODES: readonly KubeProxyMode[] = ['iptables', 'ipvs', 'nftables'];
export const COMPONENTS: readonly Component[] = ['apiserver', 'controllerManager', 'scheduler', 'kubelet', 'kubeProxy', 'etcd'];
export const PORT_PROTOCOLS: readonly PortProtocol[] = ['TCP', 'UDP', 'SCTP'];

export interface ValidationErrorOptions {
  /** Where the field is, e.g. `dev.yaml:14`; printed first. */
  location?: string;
  /** What is wrong, replacing `: <value> is not valid` (e.g. ` is not a known key`). */
  problem?: string;
}

/** Long values (whole lists or maps) would drown the message: show their start. */
const MAX_SHOWN_VALUE = 60;

export function describeValue(value: unknown): string {
  // A numeric flag given a word arrives as NaN, which JSON would show as null.
  if (typeof value === 'number' && Number.isNaN(value)) return 'not a number';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_SHOWN_VALUE ? `${text.slice(0, MAX_SHOWN_VALUE - 3)}...` : text;
}

/** A bad value in what the user asked for: names the field, the value and what is allowed. */
export class ValidationError extends Error {
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly allowed: string,
    readonly options: ValidationErrorOptions = {},
  ) {
    const problem = options.problem ?? (value === undefined ? ' is missing' : `: ${describeValue(value)} is not valid`);
    super(`${options.location ? `${options.location}: ` : ''}${field}${problem}; ${allowed}`);
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

/** A whole number in [min, max]; `hint` follows the range in the message (e.g. ` seconds`). */
export function validateCount(field: string, value: unknown, min: number, max: number, hint = ''): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, value, `use a whole number from ${min} to ${max}${hint}`);
  }
  return value;
}

export function validateIpv4(field: string, value: unknown, hint: string): string {
  try {
    if (typeof value !== 'string') throw new Error('not a string');
    parseIpv4(value);
    return value;
  } catch {
    throw new ValidationError(field, value, `use an IPv4 address${hint}`);
  }
}

export function parseSubnet(field: string, value: unknown, minPrefix: number, maxPrefix: number): Cidr {
  let cidr: Cidr;
  try {
    if (typeof value !== 'string') throw new Error('it is not a string');
    cidr = parseCidr(value);
  } catch (error) {
    throw new ValidationError(field, value, `${(error as Error).message.replace(/^.*? is /, 'it is ')} (use a range such as 10.244.0.0/16)`);
  }
  if (cidr.prefix < minPrefix || cidr.prefix > maxPrefix) {
    throw new ValidationError(field, value, `use a prefix length from /${minPrefix} to /${maxPrefix}`);
  }
  return cidr;
}

export function validateImageReference(field: string, value: unknown): string {
  if (typeof value !== 'string' || !isImageReference(value)) {
    throw new ValidationError(field, value, 'use an image reference such as kc/node:v1.37.2 or localhost:5001/kc-node:v1.37.2');
  }
  return value;
}

/** A Kubernetes version kc builds node images for. */
export function validateKubernetesVersion(field: string, value: unknown): string {
  if (typeof value !== 'string' || releaseOf(value) === undefined) {
    throw new ValidationError(field, value, `use one of the versions kc builds node images for: ${supportedVersions()}`);
  }
  return value;
}

export function validateChoice<T extends string>(field: string, value: unknown, choices: readonly T[]): T {
  const choice = choices.find((c) => c === value);
  if (choice === undefined) throw new ValidationError(field, value, `use one of ${choices.join(', ')}`);
  return choice;
}

/*
 * One check per spec field, shared by validateClusterSpec (flags) and the
 * config file parser (which calls them with the field's path in the file).
 */
export const validateControlPlanes = (field: string, value: unknown): number =>
  validateCount(field, value, 1, MAX_CONTROL_PLANES, ' (3 or more for an etcd quorum that survives a failure)');
export const validateWorkers = (field: string, value: unknown): number =>
  validateCount(field, value, 1, MAX_WORKERS, ' (pods run on workers only)');
export const validateApiServerPort = (field: string, value: unknown): number => validateCount(field, value, 0, 65535, ' (0 picks a free port)');
export const validateApiServerAddress = (field: string, value: unknown): string =>
  validateIpv4(field, value, ' of this host, such as 127.0.0.1');
/** /16 or larger: every worker gets a /24 of it. */
export const validatePodSubnet = (field: string, value: unknown): Cidr => parseSubnet(field, value, 8, 16);
export const validateServiceSubnet = (field: string, value: unknown): Cidr => parseSubnet(field, value, 8, 24);

/** How errors name each spec field: a flag, or where in a config file the value came from. */
export type FieldLabels = Record<keyof ClusterSpec, string>;

export const FLAG_LABELS: FieldLabels = {
  name: '--name',
  controlPlanes: '--control-planes',
  workers: '--workers',
  nodeImage: '--image',
  kubernetesVersion: '--kubernetes-version',
  apiServerAddress: '--api-address',
  apiServerPort: '--api-port',
  podSubnet: '--pod-subnet',
  serviceSubnet: '--service-subnet',
  cni: '--cni',
  networkPolicy: '--network-policy',
  // No flags for these: only a config file sets them.
  kubeProxyMode: 'networking.kubeProxyMode',
  featureGates: 'featureGates',
  extraArgs: 'extraArgs',
  addons: '--disable',
  registryPort: '--registry-port',
  ingressPorts: '--ingress-port',
  engines: 'engines',
  nodeExtras: 'nodes',
  retain: '--retain',
  waitSeconds: '--wait',
};

/**
 * Checks a whole spec; returns it unchanged when valid, throws the first problem otherwise.
 * `labels` name the fields in errors, so a value from a config file is blamed on the file, not on a flag.
 */
export function validateClusterSpec(spec: ClusterSpec, labels: FieldLabels = FLAG_LABELS): ClusterSpec {
  validateClusterName(spec.name, labels.name);
  validateControlPlanes(labels.controlPlanes, spec.controlPlanes);
  validateWorkers(labels.workers, spec.workers);
  validateApiServerPort(labels.apiServerPort, spec.apiServerPort);
  validateCount(labels.registryPort, spec.registryPort, 1, 65535, '');
  validateCount(labels.waitSeconds, spec.waitSeconds, 1, 24 * 3600, ' seconds');
  validateApiServerAddress(labels.apiServerAddress, spec.apiServerAddress);
  validateChoice(labels.cni, spec.cni, CNI_MODES);
  validateChoice(labels.kubeProxyMode, spec.kubeProxyMode, KUBE_PROXY_MODES);
  validateNetworkPolicy(spec, labels);
  validateSubnets(spec, labels);
  validateImageReference(labels.nodeImage, spec.nodeImage);
  validateKubernetesVersion(labels.kubernetesVersion, spec.kubernetesVersion);
  validateExtrasFitCounts(spec, labels);
  validateApiPortFree(spec, labels);
  if (spec.addons.ingress) validateIngressPorts(spec, labels);
  return spec;
}

function validateSubnets(spec: ClusterSpec, labels: FieldLabels): void {
  const pods = validatePodSubnet(labels.podSubnet, spec.podSubnet);
  const services = validateServiceSubnet(labels.serviceSubnet, spec.serviceSubnet);
  if (cidrsOverlap(pods, services)) {
    throw new ValidationError(labels.serviceSubnet, spec.serviceSubnet, `it must not overlap the pod subnet ${spec.podSubnet} (${labels.podSubnet})`);
  }
  if (2 ** (24 - pods.prefix) <= spec.workers) {
    throw new ValidationError(labels.podSubnet, spec.podSubnet, `it needs room for one /24 per worker (${counted(spec.workers, 'worker')})`);
  }
}

/** kube-router's policy controller filters kc's bridge network; other networks bring their own enforcement or none. */
function validateNetworkPolicy(spec: ClusterSpec, labels: FieldLabels): void {
  validateChoice(labels.networkPolicy, spec.networkPolicy, NETWORK_POLICY_MODES);
  if (spec.networkPolicy === 'kube-router' && spec.cni !== 'bridge') {
    const instead = spec.cni === 'weave' ? 'Weave Net enforces policies itself (weave-npc)' : 'with no pod network kc installs no policy controller';
    throw new ValidationError(labels.networkPolicy, spec.networkPolicy, `kube-router runs beside the bridge network only (${labels.cni} is ${spec.cni}: ${instead}); use none, or leave it out`);
  }
}

function hasExtras(extras: NodeExtras): boolean {
  return extras.extraPortMappings.length > 0 || extras.extraMounts.length > 0;
}

/**
 * A flag may ask for fewer nodes than a config file's `nodes` list: fine, unless
 * a node left out carries port mappings or mounts the user would silently lose.
 */
function validateExtrasFitCounts(spec: ClusterSpec, labels: FieldLabels): void {
  const check = (list: NodeExtras[], count: number, field: string, role: string): void => {
    const needed = list.reduce((n, extras, i) => (hasExtras(extras) ? i + 1 : n), 0);
    if (count < needed) {
      throw new ValidationError(field, count, `${role} ${needed - 1} has extraPortMappings or extraMounts in ${labels.nodeExtras}: ask for at least ${needed}`);
    }
  };
  check(spec.nodeExtras.masters, spec.controlPlanes, labels.controlPlanes, 'master');
  check(spec.nodeExtras.workers, spec.workers, labels.workers, 'worker');
}

/** Two host ports collide when they share number and protocol on overlapping addresses (0.0.0.0 overlaps all). */
export function hostPortsCollide(a: Pick<PortMapping, 'hostPort' | 'listenAddress' | 'protocol'>, b: Pick<PortMapping, 'hostPort' | 'listenAddress' | 'protocol'>): boolean {
  if (a.hostPort === 0 || a.hostPort !== b.hostPort || a.protocol !== b.protocol) return false;
  return a.listenAddress === b.listenAddress || a.listenAddress === '0.0.0.0' || b.listenAddress === '0.0.0.0';
}

/** The load balancer publishes the API server too; a node port mapping must not take its host port. */
function validateApiPortFree(spec: ClusterSpec, labels: FieldLabels): void {
  const api = { hostPort: spec.apiServerPort, listenAddress: spec.apiServerAddress, protocol: 'TCP' as const };
  const all = [...spec.nodeExtras.masters, ...spec.nodeExtras.workers].flatMap((extras) => extras.extraPortMappings);
  if (all.some((mapping) => hostPortsCollide(api, mapping))) {
    throw new ValidationError(labels.apiServerPort, spec.apiServerPort, `an extraPortMappings entry in ${labels.nodeExtras} already uses host port ${spec.apiServerPort}: pick another port (or 0)`);
  }
}

/** One ingress host port: 0 (any free one) or a port number. */
export const validateIngressPort = (field: string, value: unknown): number => validateCount(field, value, 0, 65535, ' (0 picks a free port)');

const INGRESS_PORTS_PATTERN = /^(\d+)\/(\d+)$/;

/** `--ingress-port 80/443`: the HTTP and the HTTPS host port, in that order. */
export function parseIngressPorts(field: string, text: string): IngressPorts {
  const match = INGRESS_PORTS_PATTERN.exec(text.trim());
  if (!match) throw new ValidationError(field, text, 'give the HTTP and the HTTPS host port as HTTP/HTTPS, e.g. 80/443 or 8080/8443 (0/0 picks free ones)');
  return { http: validateIngressPort(field, Number(match[1])), https: validateIngressPort(field, Number(match[2])) };
}

/**
 * The ingress's two host ports (on 127.0.0.1): distinct, and not one the lb,
 * the registry or a node mapping publishes already. Whether another program
 * holds them is checked when the cluster is created, before anything is made.
 */
function validateIngressPorts(spec: ClusterSpec, labels: FieldLabels): void {
  const field = labels.ingressPorts;
  const shown = `${spec.ingressPorts.http}/${spec.ingressPorts.https}`;
  validateIngressPort(field, spec.ingressPorts.http);
  validateIngressPort(field, spec.ingressPorts.https);
  if (spec.ingressPorts.http !== 0 && spec.ingressPorts.http === spec.ingressPorts.https) {
    throw new ValidationError(field, shown, 'give HTTP and HTTPS different host ports, e.g. 80/443');
  }
  const others: Array<{ port: Pick<PortMapping, 'hostPort' | 'listenAddress' | 'protocol'>; owner: string }> = [
    { port: { hostPort: spec.apiServerPort, listenAddress: spec.apiServerAddress, protocol: 'TCP' }, owner: `the API server (${labels.apiServerPort})` },
    ...(spec.addons.registry ? [{ port: { hostPort: spec.registryPort, listenAddress: '127.0.0.1', protocol: 'TCP' as const }, owner: `the registry (${labels.registryPort})` }] : []),
    ...[...spec.nodeExtras.masters, ...spec.nodeExtras.workers].flatMap((extras) => extras.extraPortMappings).map((port) => ({ port, owner: `an extraPortMappings entry in ${labels.nodeExtras}` })),
  ];
  for (const hostPort of [spec.ingressPorts.http, spec.ingressPorts.https]) {
    const clash = others.find(({ port }) => hostPortsCollide({ hostPort, listenAddress: INGRESS_LISTEN_ADDRESS, protocol: 'TCP' }, port));
    if (clash) throw new ValidationError(field, shown, `${clash.owner} already uses host port ${hostPort}: give the ingress other ports (0/0 picks free ones)`);
  }
}
