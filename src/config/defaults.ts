import { KUBERNETES_VERSION } from '../artifacts/manifest.js';
import type { ClusterSpec } from './types.js';

export const DEFAULT_CLUSTER_NAME = 'kc';
export const DEFAULT_NODE_IMAGE = `kc/node:${KUBERNETES_VERSION}`;

export function defaultClusterSpec(overrides: Partial<ClusterSpec> = {}): ClusterSpec {
  return {
    name: DEFAULT_CLUSTER_NAME,
    controlPlanes: 2,
    workers: 2,
    nodeImage: DEFAULT_NODE_IMAGE,
    apiServerAddress: '127.0.0.1',
    apiServerPort: 0,
    podSubnet: '10.244.0.0/16',
    serviceSubnet: '10.96.0.0/16',
    cni: 'bridge',
    retain: false,
    waitSeconds: 600,
    ...overrides,
  };
}
