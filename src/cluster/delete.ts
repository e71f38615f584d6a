import { LABEL_CLUSTER, type DockerEngine } from '../provider/docker/engine.js';
import { contextName, defaultKubeconfigPath, removeFromKubeconfigFile } from '../state/kubeconfig-file.js';
import { loadState, removeState } from '../state/cluster-state.js';

export interface DeleteOptions {
  engine: DockerEngine;
  name: string;
  /** Kubeconfig to clean; defaults to the one recorded at create time, else the default. */
  kubeconfigPath?: string;
}

export interface DeleteResult {
  containers: number;
  networks: number;
  volumes: number;
  kubeconfigEntry: boolean;
  state: boolean;
}

/** Removes every trace of a cluster, found by its labels and state. Deleting twice is fine. */
export async function deleteCluster(options: DeleteOptions): Promise<DeleteResult> {
  const { engine, name } = options;
  const labels = { [LABEL_CLUSTER]: name };
  const state = await loadState(name);
  const containers = await engine.listContainers(labels);
  await Promise.all(containers.map((c) => engine.removeContainer(c.id)));
  const volumes = await engine.listVolumes(labels);
  await Promise.all(volumes.map((v) => engine.removeVolume(v)));
  const networks = await engine.listNetworks(labels);
  for (const network of networks) await engine.removeNetwork(network.id);
  const paths = new Set([options.kubeconfigPath ?? state?.kubeconfigPath ?? defaultKubeconfigPath()]);
  let kubeconfigEntry = false;
  for (const path of paths) kubeconfigEntry = (await removeFromKubeconfigFile(path, contextName(name))) || kubeconfigEntry;
  await removeState(name);
  return {
    containers: containers.length,
    networks: networks.length,
    volumes: volumes.length,
    kubeconfigEntry,
    state: state !== undefined,
  };
}
