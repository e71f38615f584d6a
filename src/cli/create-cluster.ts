import type { CommandModule } from 'yargs';
import { supportedVersions } from '../artifacts/manifest.js';
import { defaultClusterSpec, nodeImageFor } from '../config/defaults.js';
import { loadClusterConfig } from '../config/v1alpha1.js';
import { resolveClusterSpecWithNotes } from '../config/resolve.js';
import { ADDON_FLAG_NAMES, type Addon, type ClusterSpec, type ClusterSpecInput, type CniMode, type NetworkPolicyMode } from '../config/types.js';
import { CNI_MODES, FLAG_LABELS, NETWORK_POLICY_MODES, parseIngressPorts, ValidationError } from '../config/validate.js';
import { createCluster } from '../cluster/create/create.js';
import { contextName, defaultKubeconfigPath } from '../state/kubeconfig-file.js';
import { enginesForSpec } from './engines.js';
import { interruptible, progressFor, UsageError, type GlobalOptions } from './options.js';
import { counted } from '../util/words.js';

/** Every spec option is optional: undefined means "not given", so a config file value stands. */
export interface CreateClusterArgs extends GlobalOptions {
  config?: string;
  name?: string;
  'control-planes'?: number;
  workers?: number;
  image?: string;
  'kubernetes-version'?: string;
  'api-address'?: string;
  'api-port'?: number;
  'pod-subnet'?: string;
  'service-subnet'?: string;
  cni?: CniMode;
  'network-policy'?: NetworkPolicyMode;
  disable?: string[];
  'registry-port'?: number;
  'ingress-port'?: string;
  retain?: boolean;
  wait?: number;
  kubeconfig?: string;
}

const ADDON_CHOICES = Object.values(ADDON_FLAG_NAMES);

/** `--disable metrics-server` → { metricsServer: false }. yargs has checked the names against ADDON_CHOICES. */
function addonsFromFlags(disabled: string[] | undefined): Partial<Record<Addon, boolean>> | undefined {
  if (disabled === undefined) return undefined;
  if (disabled.length === 0) throw new UsageError(`--disable needs an add-on to leave out: one of ${ADDON_CHOICES.join(', ')}`);
  const entries = Object.entries(ADDON_FLAG_NAMES) as [Addon, string][];
  return Object.fromEntries(entries.filter(([, flagName]) => disabled.includes(flagName)).map(([addon]) => [addon, false]));
}

/** `--ingress-port 80/443`; a malformed value is the user's to fix (exit 2). */
function ingressPortsFromFlag(text: string): ClusterSpec['ingressPorts'] {
  try {
    return parseIngressPorts(FLAG_LABELS.ingressPorts, text);
  } catch (error) {
    if (error instanceof ValidationError) throw new UsageError(error.message);
    throw error;
  }
}

/** The spec fields the user set with flags (undefined for the others). */
export function specFromFlags(args: CreateClusterArgs): ClusterSpecInput {
  const version = args['kubernetes-version'];
  if (version !== undefined && args.image !== undefined) {
    throw new UsageError(`--kubernetes-version ${version} and --image ${args.image} both name the node image: give one (an image's version is read from its label)`);
  }
  return {
    name: args.name,
    controlPlanes: args['control-planes'],
    workers: args.workers,
    nodeImage: version === undefined ? args.image : nodeImageFor(version),
    kubernetesVersion: version,
    apiServerAddress: args['api-address'],
    apiServerPort: args['api-port'],
    podSubnet: args['pod-subnet'],
    serviceSubnet: args['service-subnet'],
    cni: args.cni,
    networkPolicy: args['network-policy'],
    addons: addonsFromFlags(args.disable),
    registryPort: args['registry-port'],
    ingressPorts: args['ingress-port'] === undefined ? undefined : ingressPortsFromFlag(args['ingress-port']),
    retain: args.retain,
    waitSeconds: args.wait,
  };
}

/** Defaults < --config file < flags, validated, and what to tell of a default kc changed; any problem is a UsageError (exit 2, nothing created). */
export async function specFromArgs(args: CreateClusterArgs): Promise<{ spec: ClusterSpec; notes: string[] }> {
  try {
    const file = args.config === undefined ? undefined : await loadClusterConfig(args.config);
    return resolveClusterSpecWithNotes(file, specFromFlags(args));
  } catch (error) {
    if (error instanceof ValidationError) throw new UsageError(error.message);
    throw error;
  }
}

export const createClusterCommand: CommandModule<GlobalOptions, CreateClusterArgs> = {
  command: 'cluster',
  describe: 'Create a highly available cluster: lb, masters (etcd + control plane) and workers',
  builder: (yargs) => {
    // No yargs `default:`s: a default would look like a flag the user gave and override the config file.
    // resolveClusterSpec applies them; `defaultDescription` still shows them in --help.
    const d = defaultClusterSpec();
    return yargs
      .option('config', { type: 'string', describe: 'Cluster config file (YAML, see docs/config.md); flags override it' })
      .option('name', { type: 'string', defaultDescription: d.name, describe: 'Cluster name (prefix of every container)' })
      .option('control-planes', { type: 'number', defaultDescription: String(d.controlPlanes), describe: 'Master nodes (3+ for a fault-tolerant etcd quorum)' })
      .option('workers', { type: 'number', defaultDescription: String(d.workers), describe: 'Worker nodes' })
      .option('kubernetes-version', {
        type: 'string',
        defaultDescription: d.kubernetesVersion,
        describe: `Kubernetes version to run (${supportedVersions()}): the node image kc/node:<version>, built on first use`,
      })
      .option('image', { type: 'string', defaultDescription: d.nodeImage, describe: 'Node image (built on first use when it is kc/node:<a supported version>); its Kubernetes version is read from its label' })
      .option('api-address', { type: 'string', defaultDescription: d.apiServerAddress, describe: 'Host address to publish the API server on' })
      .option('api-port', { type: 'number', defaultDescription: String(d.apiServerPort), describe: 'Host port to publish the API server on (0: any free port)' })
      .option('pod-subnet', { type: 'string', defaultDescription: d.podSubnet, describe: 'Pod network range (one /24 per worker)' })
      .option('service-subnet', { type: 'string', defaultDescription: d.serviceSubnet, describe: 'Service (ClusterIP) range' })
      .option('cni', { choices: CNI_MODES, defaultDescription: d.cni, describe: 'Pod network: none leaves it to you' })
      .option('network-policy', { choices: NETWORK_POLICY_MODES, defaultDescription: 'kube-router with --cni bridge, else none', describe: 'What enforces NetworkPolicy: none leaves policies unenforced' })
      .option('disable', {
        type: 'string',
        array: true,
        choices: ADDON_CHOICES,
        describe:
          'Leave out an add-on (repeat for more): storage (the default StorageClass), metrics-server (kubectl top, HPAs), registry (localhost:<port> for docker push), ' +
          'load-balancer (addresses for LoadBalancer Services), ingress (Traefik: Ingress and Gateway API)',
      })
      .option('registry-port', {
        type: 'number',
        defaultDescription: String(d.registryPort),
        describe: 'Host port of the registry (docker push localhost:<port>/app:dev); clusters that give the same port share one registry',
      })
      .option('ingress-port', {
        type: 'string',
        defaultDescription: `${d.ingressPorts.http}/${d.ingressPorts.https}`,
        describe: 'Host ports (HTTP/HTTPS, on 127.0.0.1) the ingress is published on, e.g. 80/443; 0 picks a free one. A taken port is refused before anything is created',
      })
      .option('retain', { type: 'boolean', defaultDescription: String(d.retain), describe: 'Keep the nodes when creation fails, for debugging' })
      .option('wait', { type: 'number', defaultDescription: String(d.waitSeconds), describe: 'Seconds the cluster may take to come up, counted from when the node image is ready (a first build of the image does not count): one deadline for every wait' })
      .option('kubeconfig', { type: 'string', describe: 'Kubeconfig file to add the context to (default: $KUBECONFIG or ~/.kube/config)' });
  },
  handler: async (args) => {
    const { spec, notes } = await specFromArgs(args);
    const progress = progressFor(args);
    const kubeconfigPath = args.kubeconfig ?? defaultKubeconfigPath();
    progress.info(`Creating cluster "${spec.name}" (${counted(spec.controlPlanes, 'master')}, ${counted(spec.workers, 'worker')}) ...`);
    for (const note of notes) progress.info(`   note: ${note}`);
    const result = await interruptible((signal) => createCluster({ ...enginesForSpec(spec), progress, spec, kubeconfigPath, signal }));
    progress.info(`Cluster "${spec.name}" is ready in ${result.totalSeconds.toFixed(1)}s. Use it with:\n\n  kubectl cluster-info --context ${contextName(spec.name)}\n`);
  },
};
