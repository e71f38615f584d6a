import { LABEL_CLUSTER, LABEL_ROLE, type DockerEngine } from '../docker/engine.js';
import { packFiles } from '../docker/archive.js';

/** Where an archive waits on a node while containerd imports it (on the containerd volume, not in memory). */
const STAGING_PATH = '/var/lib/containerd/kc-load.tar';

/** The worker containers of a cluster, optionally only the named ones. */
export async function workerNodes(engine: DockerEngine, cluster: string, only?: string[]): Promise<string[]> {
  const containers = await engine.listContainers({ [LABEL_CLUSTER]: cluster, [LABEL_ROLE]: 'worker' });
  const names = containers.map((c) => c.name).sort();
  if (names.length === 0) throw new Error(`cluster "${cluster}" has no worker nodes: is it running? (kc get clusters)`);
  if (!only || only.length === 0) return names;
  const unknown = only.filter((n) => !names.includes(n));
  if (unknown.length > 0) throw new Error(`no worker named ${unknown.join(', ')} in cluster "${cluster}"; workers: ${names.join(', ')}`);
  return only;
}

/** Imports an image archive (docker save format) into the containerd of each node, where kubelet finds it. */
export async function importArchive(engine: DockerEngine, nodes: string[], archive: Buffer): Promise<void> {
  const tar = await packFiles([{ path: STAGING_PATH, content: archive, mode: 0o600 }]);
  await Promise.all(
    nodes.map(async (node) => {
      await engine.putArchive(node, tar);
      try {
        await engine.execOrThrow(node, ['ctr', '--namespace', 'k8s.io', 'images', 'import', '--all-platforms', STAGING_PATH]);
      } finally {
        await engine.exec(node, ['rm', '-f', STAGING_PATH]);
      }
    }),
  );
}

async function streamToBuffer(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * `kc load docker-image`: images from the host's Docker into the nodes, no
 * registry involved; all in one archive, so layers they share travel once.
 */
export async function loadDockerImages(engine: DockerEngine, nodes: string[], images: string[]): Promise<void> {
  for (const image of images) {
    if (!(await engine.imageLabels(image))) throw new Error(`image ${image} is not in the local Docker: build or pull it first`);
  }
  await importArchive(engine, nodes, await streamToBuffer(await engine.saveImages(images)));
}
