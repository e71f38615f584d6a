import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CRI_NAMESPACE } from '../../components/containerd.js';
import { execOrThrow, type Images, LABEL_CLUSTER, LABEL_ROLE, type NodeExec, type NodeRef, type Nodes, type NodeSummary } from '../../provider/provider.js';
import { concurrently } from '../../util/concurrent.js';

/** The worker containers of a cluster (each with its engine), optionally only the named ones. */
export async function workerNodes(engine: Pick<Nodes, 'listNodes'>, cluster: string, only?: string[]): Promise<NodeSummary[]> {
  const containers = (await engine.listNodes({ [LABEL_CLUSTER]: cluster, [LABEL_ROLE]: 'worker' })).sort((a, b) => a.name.localeCompare(b.name));
  const names = containers.map((c) => c.name);
  if (names.length === 0) throw new Error(`cluster "${cluster}" has no worker nodes: is it running? (kc get clusters)`);
  if (!only || only.length === 0) return containers;
  const unknown = only.filter((n) => !names.includes(n));
  if (unknown.length > 0) throw new Error(`no worker named ${unknown.join(', ')} in cluster "${cluster}"; workers: ${names.join(', ')}`);
  return containers.filter((c) => only.includes(c.name));
}

/** containerd's import reading the archive from stdin, into the namespace kubelet uses. */
export const IMPORT_COMMAND = ['ctr', '--namespace', CRI_NAMESPACE, 'images', 'import', '--all-platforms', '-'];

/**
 * Imports an image archive file (docker save format) into the containerd of
 * each node, where kubelet finds it. Like kind, each node reads the file as a
 * stream through the exec's stdin: memory use does not grow with the image.
 */
export async function importArchive(engine: NodeExec, nodes: readonly NodeRef[], archivePath: string): Promise<void> {
  await concurrently(nodes, async (node) => {
    await execOrThrow(engine, node, IMPORT_COMMAND, createReadStream(archivePath));
  });
}

/**
 * `kc load docker-image`: images from the host's Docker into the nodes, no
 * registry involved; all in one archive, so layers they share travel once.
 * `docker save` goes to a file first (as kind does): one save for every node,
 * on disk rather than in memory.
 */
export async function loadDockerImages(engine: Images & NodeExec, nodes: readonly NodeRef[], images: string[]): Promise<void> {
  for (const image of images) {
    if (!(await engine.imageLabels(image))) throw new Error(`image ${image} is not in the local Docker: build or pull it first`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'kc-load-'));
  try {
    const archive = join(dir, 'images.tar');
    await pipeline(await engine.saveImages(images), createWriteStream(archive, { mode: 0o600 }));
    await importArchive(engine, nodes, archive);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
