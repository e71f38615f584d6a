/**
 * The cluster config file of `kc create cluster --config FILE` (like kind's Cluster config).
 *
 *   apiVersion: kc.dev/v1alpha1          # required
 *   kind: Cluster                        # required
 *   name: dev                            # cluster name
 *   controlPlanes: 3                     # masters; or a `nodes:` list (not both)
 *   workers: 2
 *   nodeImage: kc/node:v1.37.2           # or kubernetesVersion: v1.36.3 (means kc/node:v1.36.3); not both
 *   networking:
 *     podSubnet: 10.244.0.0/16
 *     serviceSubnet: 10.96.0.0/16
 *     apiServerAddress: 127.0.0.1
 *     apiServerPort: 0                   # 0: any free port
 *     cni: weave | bridge | none
 *     networkPolicy: kube-router | none   # default kube-router with cni bridge, none otherwise
 *     kubeProxyMode: iptables | ipvs | nftables
 *   featureGates: {SomeGate: true}       # for every Kubernetes component (not etcd)
 *   addons: {storage: true, metricsServer: true, registry: true, loadBalancer: true, ingress: true}   # each true by default; false leaves it out
 *   registryPort: 5001                   # the registry's host port: localhost:5001/image
 *   ingressPorts: {http: 80, https: 443} # the ingress's host ports on 127.0.0.1; 0 (the default) picks a free one
 *   extraArgs:                           # flags without dashes, per component:
 *     apiserver: {v: "2"}                # apiserver, controllerManager, scheduler, kubelet, kubeProxy, etcd
 *   engines:                             # Docker engines besides the one kc runs on (`local`); see docs/multi-engine.md
 *     - {name: e2, host: "tcp://10.0.0.2:2375", advertiseAddress: 10.0.0.2}   # host: tcp://, ssh:// or unix://
 *   nodes:                               # one entry per node, in order per role; at least one worker
 *     - role: master                     # master | worker
 *       engine: local                    # an engines[].name, or local (the default)
 *     - role: worker
 *       extraPortMappings:               # containerPort required; hostPort 0 (any), listenAddress 0.0.0.0, protocol TCP by default
 *         - {containerPort: 30080, hostPort: 8080, listenAddress: 127.0.0.1, protocol: TCP}
 *       extraMounts:                     # absolute paths; readOnly false by default
 *         - {hostPath: /tmp/data, containerPath: /data, readOnly: true}
 *
 * Every key is checked: an unknown key, a wrong type or a bad value is an error
 * that names the file, line, field path, the value and what is allowed.
 */
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { check, decodeYaml, fail, FieldError, formatPath, optional, readBoolean, readList, readMap, readRecord, readString, type Fields, type Path } from './yaml-decoder.js';
import { MAX_CONTROL_PLANES, MAX_ENGINES_PER_CLUSTER, MAX_WORKERS } from './limits.js';
import { emptyNodeExtras, nodeImageFor } from './defaults.js';
import { LOCAL_ENGINE, type Addon, type ClusterSpec, type ClusterSpecInput, type EngineSpec, type ExtraArgs, type IngressPorts, type Mount, type NodeExtras, type PortMapping } from './types.js';
import {
  CNI_MODES,
  COMPONENTS,
  hostPortsCollide,
  KUBE_PROXY_MODES,
  NETWORK_POLICY_MODES,
  PORT_PROTOCOLS,
  validateApiServerAddress,
  validateApiServerPort,
  validateChoice,
  validateClusterName,
  validateControlPlanes,
  validateCount,
  validateImageReference,
  validateIngressPort,
  validateIpv4,
  validateKubernetesVersion,
  validatePodSubnet,
  validateServiceSubnet,
  validateWorkers,
  ValidationError,
} from './validate.js';

export const CONFIG_API_VERSION = 'kc.dev/v1alpha1';
export const CONFIG_KIND = 'Cluster';

/** What a config file asks for. */
export interface ClusterConfigFile {
  /** The file's name as the user gave it (prefix of every error). */
  source: string;
  /** Only the fields the file sets; defaults and flags fill in the rest. */
  spec: ClusterSpecInput;
  /** Where in the file each set field came from, so errors found after merging with flags blame the file. */
  fieldPaths: Partial<Record<keyof ClusterSpec, string>>;
}

export async function loadClusterConfig(path: string): Promise<ClusterConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message;
    throw new ValidationError('--config', path, `${reason}: give the path of a cluster config file (see docs/config.md)`);
  }
  return parseClusterConfig(text, path);
}

export function parseClusterConfig(text: string, source: string): ClusterConfigFile {
  return { source, ...decodeYaml(text, source, readConfig) };
}

// ---- the config ---------------------------------------------------------

const TOP_KEYS = ['apiVersion', 'kind', 'name', 'controlPlanes', 'workers', 'nodeImage', 'kubernetesVersion', 'networking', 'featureGates', 'extraArgs', 'addons', 'registryPort', 'ingressPorts', 'engines', 'nodes'];
const ADDON_KEYS: Addon[] = ['storage', 'metricsServer', 'registry', 'loadBalancer', 'ingress'];
const INGRESS_PORT_KEYS = ['http', 'https'];
const NETWORKING_KEYS = ['podSubnet', 'serviceSubnet', 'apiServerAddress', 'apiServerPort', 'cni', 'networkPolicy', 'kubeProxyMode'];
const NODE_KEYS = ['role', 'engine', 'extraPortMappings', 'extraMounts'];
const ENGINE_KEYS = ['name', 'host', 'advertiseAddress'];
const ENGINE_HOST_PATTERN = /^(tcp:\/\/[^/:@\s]+:\d+|ssh:\/\/[^/\s]+|unix:\/\/\/\S+)$/;
const NODE_ROLES = ['master', 'worker'] as const;
const PORT_MAPPING_KEYS = ['containerPort', 'hostPort', 'listenAddress', 'protocol'];
const MOUNT_KEYS = ['hostPath', 'containerPath', 'readOnly'];

/** What the file sets, built up section by section. */
type Parsed = Omit<ClusterConfigFile, 'source'>;

function put<K extends keyof ClusterSpecInput>(out: Parsed, key: K, value: ClusterSpecInput[K] | undefined, path: string): void {
  if (value === undefined) return;
  out.spec[key] = value;
  out.fieldPaths[key] = path;
}

function readConfig(root: unknown): Parsed {
  if (root === undefined) {
    throw new FieldError([], undefined, `start the file with apiVersion: ${CONFIG_API_VERSION} and kind: ${CONFIG_KIND}`, ' is empty');
  }
  const top = readMap(root, [], TOP_KEYS);
  checkHeader(top);
  const out: Parsed = { spec: {}, fieldPaths: {} };
  put(out, 'name', optional(['name'], top.name, (f, v) => validateClusterName(v, f)), 'name');
  if (top.engines !== undefined) put(out, 'engines', readEngines(top.engines), 'engines');
  readTopology(top, out, [LOCAL_ENGINE, ...(out.spec.engines ?? []).map((e) => e.name)]);
  readImage(top, out);
  if (top.networking !== undefined) readNetworking(readMap(top.networking, ['networking'], NETWORKING_KEYS), out);
  if (top.featureGates !== undefined) put(out, 'featureGates', readFeatureGates(top.featureGates), 'featureGates');
  if (top.extraArgs !== undefined) put(out, 'extraArgs', readExtraArgs(top.extraArgs), 'extraArgs');
  if (top.addons !== undefined) put(out, 'addons', readAddons(top.addons), 'addons');
  put(out, 'registryPort', optional(['registryPort'], top.registryPort, (f, v) => validateCount(f, v, 1, 65535, '')), 'registryPort');
  if (top.ingressPorts !== undefined) put(out, 'ingressPorts', readIngressPorts(top.ingressPorts), 'ingressPorts');
  return out;
}

/** `ingressPorts: {http: 80, https: 443}`; a port left out is 0 (any free one). */
function readIngressPorts(value: unknown): IngressPorts {
  const fields = readMap(value, ['ingressPorts'], INGRESS_PORT_KEYS);
  const port = (key: 'http' | 'https') => optional(['ingressPorts', key], fields[key], validateIngressPort) ?? 0;
  return { http: port('http'), https: port('https') };
}

function checkHeader(top: Fields): void {
  if (top.apiVersion !== CONFIG_API_VERSION) {
    const kindHint = typeof top.apiVersion === 'string' && top.apiVersion.startsWith('kind.x-k8s.io') ? ' (kind config files do not apply as they are)' : '';
    fail(['apiVersion'], top.apiVersion, `use apiVersion: ${CONFIG_API_VERSION}${kindHint}`);
  }
  if (top.kind !== CONFIG_KIND) fail(['kind'], top.kind, `use kind: ${CONFIG_KIND}`);
}

/** Node counts come either from controlPlanes/workers or from a nodes list, which also carries per-node extras. */
function readTopology(top: Fields, out: Parsed, engines: string[]): void {
  if (top.nodes === undefined) {
    put(out, 'controlPlanes', optional(['controlPlanes'], top.controlPlanes, validateControlPlanes), 'controlPlanes');
    put(out, 'workers', optional(['workers'], top.workers, validateWorkers), 'workers');
    return;
  }
  for (const key of ['controlPlanes', 'workers']) {
    if (top[key] !== undefined) fail([key], top[key], 'a nodes list is also given: use either controlPlanes/workers or nodes, not both');
  }
  const nodeExtras = readNodes(top.nodes, engines);
  const roles = [...nodeExtras.masters.map(() => 'master'), ...nodeExtras.workers.map(() => 'worker')];
  checkRoleCount(roles, 'master', MAX_CONTROL_PLANES, 'etcd and the control plane run on masters');
  checkRoleCount(roles, 'worker', MAX_WORKERS, 'pods run on workers only');
  const remoteEngines = new Set([...nodeExtras.masters, ...nodeExtras.workers].map((n) => n.engine).filter((e) => e !== undefined && e !== LOCAL_ENGINE));
  if (remoteEngines.size + 1 > MAX_ENGINES_PER_CLUSTER) {
    fail(['nodes'], [...remoteEngines], `place the nodes on at most ${MAX_ENGINES_PER_CLUSTER} engines, local included (the cluster network keeps ${MAX_ENGINES_PER_CLUSTER} addresses for the engines)`);
  }
  put(out, 'controlPlanes', nodeExtras.masters.length, 'nodes');
  put(out, 'workers', nodeExtras.workers.length, 'nodes');
  put(out, 'nodeExtras', nodeExtras, 'nodes');
}

function checkRoleCount(roles: string[], role: string, max: number, why: string): void {
  const count = roles.filter((r) => r === role).length;
  if (count < 1) fail(['nodes'], roles, `list at least one node with role: ${role} (${why})`);
  if (count > max) fail(['nodes'], `${count} nodes with role: ${role}`, `list at most ${max}`);
}

function readNodes(value: unknown, engines: string[]): ClusterSpec['nodeExtras'] {
  const list = readList(value, ['nodes'], '[{role: master}, {role: worker}]');
  const result: ClusterSpec['nodeExtras'] = { masters: [], workers: [] };
  const published: PublishedPort[] = [];
  list.forEach((entry, i) => {
    const path: Path = ['nodes', i];
    const node = readMap(entry, path, NODE_KEYS);
    const role = check([...path, 'role'], node.role, (field, v) => validateChoice(field, v, NODE_ROLES));
    const extras = readNodeExtras(node, path, published);
    if (node.engine !== undefined) extras.engine = readEngineName([...path, 'engine'], node.engine, engines);
    (role === 'master' ? result.masters : result.workers).push(extras);
  });
  return result;
}

function readEngines(value: unknown): EngineSpec[] {
  const list = readList(value, ['engines'], '[{name: e2, host: "tcp://10.0.0.2:2375"}]');
  const engines: EngineSpec[] = [];
  list.forEach((entry, i) => {
    const path: Path = ['engines', i];
    const fields = readMap(entry, path, ENGINE_KEYS);
    const name = check([...path, 'name'], fields.name, (f, v) => validateClusterName(v, f));
    if (name === LOCAL_ENGINE) fail([...path, 'name'], name, `"${LOCAL_ENGINE}" is the engine kc runs on: give this engine another name`);
    if (engines.some((e) => e.name === name)) fail([...path, 'name'], name, 'an earlier engine has this name: give each engine its own');
    const host = readString([...path, 'host'], fields.host, '"tcp://10.0.0.2:2375"');
    if (!ENGINE_HOST_PATTERN.test(host)) fail([...path, 'host'], host, 'use tcp://HOST:PORT, ssh://USER@HOST or unix:///PATH (as in DOCKER_HOST)');
    const advertise = optional([...path, 'advertiseAddress'], fields.advertiseAddress, (f, v) => validateIpv4(f, v, ' the other engines reach this one at'));
    engines.push({ name, host, ...(advertise === undefined ? {} : { advertiseAddress: advertise }) });
  });
  return engines;
}

function readEngineName(path: Path, value: unknown, engines: string[]): string {
  const name = readString(path, value, LOCAL_ENGINE);
  if (!engines.includes(name)) fail(path, name, `use ${engines.join(' or ')} (an engine listed under engines, or local)`);
  return name;
}

function readNodeExtras(node: Fields, path: Path, published: PublishedPort[]): NodeExtras {
  const extras = emptyNodeExtras();
  if (node.extraPortMappings !== undefined) {
    const listPath = [...path, 'extraPortMappings'];
    const list = readList(node.extraPortMappings, listPath, '[{containerPort: 80, hostPort: 8080}]');
    extras.extraPortMappings = list.map((entry, i) => readPortMapping(entry, [...listPath, i], published));
  }
  if (node.extraMounts !== undefined) {
    const listPath = [...path, 'extraMounts'];
    const list = readList(node.extraMounts, listPath, '[{hostPath: /srv/data, containerPath: /data}]');
    extras.extraMounts = list.map((entry, i) => readMount(entry, [...listPath, i]));
  }
  return extras;
}

/** Host ports taken so far by earlier mappings, to report a clash where it happens. */
interface PublishedPort {
  mapping: PortMapping;
  path: Path;
}

function readPortMapping(value: unknown, path: Path, published: PublishedPort[]): PortMapping {
  const fields = readMap(value, path, PORT_MAPPING_KEYS);
  const mapping: PortMapping = {
    containerPort: check([...path, 'containerPort'], fields.containerPort, (f, v) => validateCount(f, v, 1, 65535)),
    hostPort: optional([...path, 'hostPort'], fields.hostPort, (f, v) => validateCount(f, v, 0, 65535, ' (0 picks a free port)')) ?? 0,
    listenAddress: optional([...path, 'listenAddress'], fields.listenAddress, (f, v) => validateIpv4(f, v, ' of this host, such as 127.0.0.1, or 0.0.0.0 for every address')) ?? '0.0.0.0',
    protocol: optional([...path, 'protocol'], fields.protocol, (f, v) => validateChoice(f, v, PORT_PROTOCOLS)) ?? 'TCP',
  };
  const clash = published.find((earlier) => hostPortsCollide(earlier.mapping, mapping));
  if (clash) {
    fail([...path, 'hostPort'], mapping.hostPort, `${formatPath(clash.path)} already publishes host port ${mapping.hostPort}/${mapping.protocol} on ${clash.mapping.listenAddress}: give each mapping its own host port (or 0)`);
  }
  published.push({ mapping, path });
  return mapping;
}

function readMount(value: unknown, path: Path): Mount {
  const fields = readMap(value, path, MOUNT_KEYS);
  return {
    hostPath: readAbsolutePath([...path, 'hostPath'], fields.hostPath, '/srv/data'),
    containerPath: readAbsolutePath([...path, 'containerPath'], fields.containerPath, '/data'),
    readOnly: fields.readOnly === undefined ? false : readBoolean([...path, 'readOnly'], fields.readOnly),
  };
}

/** Relative paths are refused rather than guessed at: relative to the file, or to where kc runs? */
function readAbsolutePath(path: Path, value: unknown, example: string): string {
  const text = readString(path, value, example);
  if (!posix.isAbsolute(text)) fail(path, text, `use an absolute path such as ${example}`);
  return text;
}

function readImage(top: Fields, out: Parsed): void {
  if (top.nodeImage !== undefined && top.kubernetesVersion !== undefined) {
    fail(['kubernetesVersion'], top.kubernetesVersion, 'nodeImage is also given: use one or the other');
  }
  put(out, 'nodeImage', optional(['nodeImage'], top.nodeImage, validateImageReference), 'nodeImage');
  const version = optional(['kubernetesVersion'], top.kubernetesVersion, validateKubernetesVersion);
  if (version === undefined) return;
  put(out, 'kubernetesVersion', version, 'kubernetesVersion');
  put(out, 'nodeImage', nodeImageFor(version), 'kubernetesVersion');
}

/** The spec keeps the subnet as the user wrote it; the check only has to pass. */
function subnetText(validate: (field: string, value: unknown) => unknown) {
  return (field: string, value: unknown): string => {
    validate(field, value);
    return String(value);
  };
}

function readNetworking(net: Fields, out: Parsed): void {
  const at = (key: string): Path => ['networking', key];
  const path = (key: string): string => formatPath(at(key));
  put(out, 'podSubnet', optional(at('podSubnet'), net.podSubnet, subnetText(validatePodSubnet)), path('podSubnet'));
  put(out, 'serviceSubnet', optional(at('serviceSubnet'), net.serviceSubnet, subnetText(validateServiceSubnet)), path('serviceSubnet'));
  put(out, 'apiServerAddress', optional(at('apiServerAddress'), net.apiServerAddress, validateApiServerAddress), path('apiServerAddress'));
  put(out, 'apiServerPort', optional(at('apiServerPort'), net.apiServerPort, validateApiServerPort), path('apiServerPort'));
  put(out, 'cni', optional(at('cni'), net.cni, (f, v) => validateChoice(f, v, CNI_MODES)), path('cni'));
  put(out, 'networkPolicy', optional(at('networkPolicy'), net.networkPolicy, (f, v) => validateChoice(f, v, NETWORK_POLICY_MODES)), path('networkPolicy'));
  put(out, 'kubeProxyMode', optional(at('kubeProxyMode'), net.kubeProxyMode, (f, v) => validateChoice(f, v, KUBE_PROXY_MODES)), path('kubeProxyMode'));
}

/** Only the add-ons the file names: the others keep their defaults (on). */
function readAddons(value: unknown): Partial<Record<Addon, boolean>> {
  const fields = readMap(value, ['addons'], ADDON_KEYS);
  const result: Partial<Record<Addon, boolean>> = {};
  for (const addon of ADDON_KEYS) {
    if (fields[addon] !== undefined) result[addon] = readBoolean(['addons', addon], fields[addon]);
  }
  return result;
}

/** Gate names are CamelCase as Kubernetes spells them; a lower-case one is a typo that every component would reject at start. */
const GATE_PATTERN = /^[A-Z][A-Za-z0-9]*$/;

function readFeatureGates(value: unknown): Record<string, boolean> {
  const gates = readRecord(value, ['featureGates'], '{InPlacePodVerticalScaling: true}');
  const result: Record<string, boolean> = {};
  for (const [name, enabled] of Object.entries(gates)) {
    if (!GATE_PATTERN.test(name)) {
      throw new FieldError(['featureGates', name], enabled, 'use the gate name as Kubernetes spells it, e.g. InPlacePodVerticalScaling', ' is not a feature gate name');
    }
    result[name] = readBoolean(['featureGates', name], enabled);
  }
  return result;
}

const FLAG_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function readExtraArgs(value: unknown): ExtraArgs {
  const byComponent = readMap(value, ['extraArgs'], COMPONENTS);
  const result: ExtraArgs = {};
  for (const component of COMPONENTS) {
    const flags = byComponent[component];
    if (flags !== undefined) result[component] = readFlags(flags, ['extraArgs', component]);
  }
  return result;
}

function readFlags(value: unknown, path: Path): Record<string, string> {
  const flags = readRecord(value, path, '{v: "2"}');
  const result: Record<string, string> = {};
  for (const [name, flagValue] of Object.entries(flags)) {
    const flagPath = [...path, name];
    if (!FLAG_PATTERN.test(name)) {
      throw new FieldError(flagPath, flagValue, `write the flag name without leading dashes, e.g. v for --v`, ' is not a flag name');
    }
    // kc sets --feature-gates itself from featureGates; two sources would silently override each other.
    if (name === 'feature-gates') fail(flagPath, flagValue, 'set feature gates with the top-level featureGates map');
    result[name] = readFlagValue(flagPath, flagValue);
  }
  return result;
}

/** Flags are text on a command line; YAML numbers and booleans (`v: 2`) mean the same text. */
function readFlagValue(path: Path, value: unknown): string {
  if (typeof value === 'string') return value;
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') return String(value);
  return fail(path, value, 'use a string, number or boolean (the flag\'s value, e.g. "2")');
}
