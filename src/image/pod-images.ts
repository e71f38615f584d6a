import { createWriteStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ResolvedArtifact } from '../artifacts/resolve.js';
import { podImagesFor, type KubernetesRelease } from '../artifacts/manifest.js';
import type { Images } from '../provider/provider.js';
import { projectRoot } from '../util/paths.js';
import { contextDigest, contextStream, fileEntry, folderFiles, type ContextFile } from './context.js';

const LABEL_INPUTS = 'dev.kc.inputs';

export interface PodImage {
  /** Short name, also the archive's file name. */
  name: string;
  tag: string;
  /** The artifact and binary the image wraps when kc builds it itself. */
  artifact: string;
  binary: string;
  /** Its Dockerfile takes files from the Debian base image (ARG BASE_IMAGE). */
  fromBase?: boolean;
}

/** The artifacts that become pod images rather than files on the node's PATH. */
export const POD_IMAGE_ARTIFACTS: ReadonlySet<string> = new Set(['pause', 'coredns', 'local-path-provisioner', 'metrics-server', 'metallb']);

/** The pod images a node image of one release carries. */
export function podImageList(release: KubernetesRelease): PodImage[] {
  const tags = podImagesFor(release);
  return [
    { name: 'pause', tag: tags.pause, artifact: 'pause', binary: 'pause' },
    { name: 'coredns', tag: tags.coredns, artifact: 'coredns', binary: 'coredns' },
    {
      name: 'local-path-provisioner',
      tag: tags.localPathProvisioner,
      artifact: 'local-path-provisioner',
      binary: 'local-path-provisioner',
      fromBase: true,
    },
    { name: 'metrics-server', tag: tags.metricsServer, artifact: 'metrics-server', binary: 'metrics-server' },
    { name: 'metallb-controller', tag: tags.metallbController, artifact: 'metallb', binary: 'controller' },
    { name: 'metallb-speaker', tag: tags.metallbSpeaker, artifact: 'metallb', binary: 'speaker' },
  ];
}

async function podImageContext(image: PodImage, artifacts: ResolvedArtifact[]): Promise<ContextFile[]> {
  const resolved = artifacts.find((a) => a.artifact.name === image.artifact);
  if (!resolved) throw new Error(`pod image ${image.name} needs artifact ${image.artifact}, which was not resolved`);
  const binary = await fileEntry(join(resolved.entry.binDir, image.binary), image.binary);
  binary.sha256 = resolved.entry.record.binaries[image.binary];
  // Its folder under images/: the Dockerfile, and any file it copies besides the binary (a configuration).
  return [...(await folderFiles(join(projectRoot(), 'images', image.name), '')), binary];
}

/**
 * Makes sure a pod image exists in Docker: kept from before when its inputs
 * have not changed, else pulled, else built from kc's own artifact. Returns
 * how it was obtained.
 */
export async function ensurePodImage(
  engine: Images,
  image: PodImage,
  artifacts: ResolvedArtifact[],
  base?: { tag: string; id: string },
): Promise<'cached' | 'pulled' | 'built'> {
  if (image.fromBase && !base) throw new Error(`pod image ${image.name} is built from the base image, which was not given`);
  const context = await podImageContext(image, artifacts);
  const digest = await contextDigest(context, image.fromBase && base ? [base.id] : []);
  const labels = await engine.imageLabels(image.tag);
  if (labels && (labels[LABEL_INPUTS] === digest || labels[LABEL_INPUTS] === undefined)) return 'cached';
  if (!labels && (await engine.tryPull(image.tag))) return 'pulled';
  await engine.buildImage(contextStream(context), {
    tag: image.tag,
    ...(image.fromBase && base ? { buildArgs: { BASE_IMAGE: base.tag } } : {}),
    labels: { [LABEL_INPUTS]: digest },
  });
  return 'built';
}

/** Writes `docker save` archives of the pod images into a folder, for the node image to carry. */
export async function savePodImages(engine: Images, images: PodImage[], folder: string): Promise<string[]> {
  await mkdir(folder, { recursive: true });
  const paths: string[] = [];
  for (const image of images) {
    const path = join(folder, `${image.name}.tar`);
    const partial = `${path}.partial`;
    await pipeline(await engine.saveImages([image.tag]), createWriteStream(partial));
    await rename(partial, path);
    paths.push(path);
  }
  return paths;
}
