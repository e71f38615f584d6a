import type { CommandModule } from 'yargs';
import { defaultClusterSpec, DEFAULT_CLUSTER_NAME, DEFAULT_NODE_IMAGE } from '../config/defaults.js';
import type { ClusterSpec, CniMode } from '../config/types.js';
import { CNI_MODES, validateClusterSpec, ValidationError } from '../config/validate.js';
import { createCluster } from '../cluster/create.js';
import { contextName, defaultKubeconfigPath } from '../cluster/kubeconfig-file.js';
import { engine, progressFor, UsageError, type GlobalOptions } from './options.js';

interface CreateClusterArgs extends GlobalOptions {
  name: string;
  'control-planes': number;
  workers: number;
  image: string;
  'api-address': string;
  'api-port': number;
  'pod-subnet': string;
  'service-subnet': string;
  cni: CniMode;
  retain: boolean;
  wait: number;
  kubeconfig?: string;
}

function specFromArgs(args: CreateClusterArgs): ClusterSpec {
  return defaultClusterSpec({
    name: args.name,
    controlPlanes: args['control-planes'],
    workers: args.workers,
    nodeImage: args.image,
    apiServerAddress: args['api-address'],
    apiServerPort: args['api-port'],
    podSubnet: args['pod-subnet'],
    serviceSubnet: args['service-subnet'],
    cni: args.cni,
    retain: args.retain,
    waitSeconds: args.wait,
  });
}

export const createClusterCommand: CommandModule<GlobalOptions, CreateClusterArgs> = {
  command: 'cluster',
  describe: 'Create a highly available cluster: lb, masters (etcd + control plane) and workers',
  builder: (yargs) => {
    const defaults = defaultClusterSpec();
    return yargs
      .option('name', { type: 'string', default: DEFAULT_CLUSTER_NAME, describe: 'Cluster name (prefix of every container)' })
      .option('control-planes', { type: 'number', default: defaults.controlPlanes, describe: 'Master nodes (3+ for a fault-tolerant etcd quorum)' })
      .option('workers', { type: 'number', default: defaults.workers, describe: 'Worker nodes' })
      .option('image', { type: 'string', default: DEFAULT_NODE_IMAGE, describe: 'Node image (built on first use when it is the default)' })
      .option('api-address', { type: 'string', default: defaults.apiServerAddress, describe: 'Host address to publish the API server on' })
      .option('api-port', { type: 'number', default: 0, describe: 'Host port to publish the API server on (0: any free port)' })
      .option('pod-subnet', { type: 'string', default: defaults.podSubnet, describe: 'Pod network range (one /24 per worker)' })
      .option('service-subnet', { type: 'string', default: defaults.serviceSubnet, describe: 'Service (ClusterIP) range' })
      .option('cni', { choices: CNI_MODES, default: defaults.cni, describe: 'Pod network: none leaves it to you' })
      .option('retain', { type: 'boolean', default: false, describe: 'Keep the nodes when creation fails, for debugging' })
      .option('wait', { type: 'number', default: defaults.waitSeconds, describe: 'Seconds to wait for each readiness check' })
      .option('kubeconfig', { type: 'string', describe: 'Kubeconfig file to add the context to (default: $KUBECONFIG or ~/.kube/config)' });
  },
  handler: async (args) => {
    let spec: ClusterSpec;
    try {
      spec = validateClusterSpec(specFromArgs(args));
    } catch (error) {
      if (error instanceof ValidationError) throw new UsageError(`--${error.message}`);
      throw error;
    }
    const progress = progressFor(args);
    const kubeconfigPath = args.kubeconfig ?? defaultKubeconfigPath();
    progress.info(`Creating cluster "${spec.name}" (${spec.controlPlanes} masters, ${spec.workers} workers) ...`);
    const result = await createCluster({ engine: engine(), progress, spec, kubeconfigPath });
    progress.info(`Cluster "${spec.name}" is ready in ${result.totalSeconds.toFixed(1)}s. Use it with:\n\n  kubectl cluster-info --context ${contextName(spec.name)}\n`);
  },
};
