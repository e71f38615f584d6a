import { createWriteStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ResolvedArtifact } from '../artifacts/resolve.js';
import { podImagesFor, type Artifact, type KubernetesRelease } from '../artifacts/manifest.js';
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
  /** kc's own image, published nowhere: never pulled. */
  ownImage?: boolean;
}

/** The artifacts that become pod images rather than files on the node's PATH. */
export const POD_IMAGE_ARTIFACTS: ReadonlySet<string> = new Set([
  'pause', 'coredns', 'local-path-provisioner', 'metrics-server', 'metallb', 'cloud-controller', 'traefik',
]);

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
    { name: 'cloud-controller', tag: tags.cloudController, artifact: 'cloud-controller', binary: 'kc-cloud-controller', ownImage: true },
    { name: 'traefik', tag: tags.traefik, artifact: 'traefik', binary: 'traefik' },
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

/** Where the pod images of a node image come from, decided once before any artifact is produced. */
export interface PodImageSources {
  /** Upstream's own images, present already or pulled just now: nothing of kc's is built for them. */
  upstream: PodImage[];
  /** Pulled just now (a subset of `upstream`), for the progress line. */
  pulled: PodImage[];
  /** The images kc builds from its own artifacts (or keeps from an earlier build). */
  toBuild: PodImage[];
}

/**
 * Decides, for each pod image, whether upstream's image serves (present
 * without kc's label, or pulled now where a registry answers) or kc builds it:
 * an online machine then neither builds nor needs a toolchain for those.
 * `--source source` builds every image kc does not have yet.
 */
export async function podImageSources(engine: Pick<Images, 'imageLabels' | 'tryPull'>, images: PodImage[], pull: boolean): Promise<PodImageSources> {
  const sources: PodImageSources = { upstream: [], pulled: [], toBuild: [] };
  for (const image of images) {
    const labels = await engine.imageLabels(image.tag);
    if (labels && labels[LABEL_INPUTS] === undefined) {
      sources.upstream.push(image);
    } else if (!labels && pull && !image.ownImage && (await engine.tryPull(image.tag))) {
      sources.upstream.push(image);
      sources.pulled.push(image);
    } else {
      sources.toBuild.push(image);
    }
  }
  return sources;
}

/** The artifacts a node image needs: every one on the node's PATH, and those of the pod images kc builds. */
export function artifactsNeeded(artifacts: Artifact[], sources: PodImageSources): Artifact[] {
  const built = new Set(sources.toBuild.map((image) => image.artifact));
  return artifacts.filter((artifact) => !POD_IMAGE_ARTIFACTS.has(artifact.name) || built.has(artifact.name));
}

/**
 * Builds a pod image from kc's own artifact, unless the one kc built before
 * has the same inputs. Returns whether it was built.
 */
export async function ensurePodImage(
  engine: Images,
  image: PodImage,
  artifacts: ResolvedArtifact[],
  base?: { tag: string; id: string },
): Promise<'cached' | 'built'> {
  if (image.fromBase && !base) throw new Error(`pod image ${image.name} is built from the base image, which was not given`);
  const context = await podImageContext(image, artifacts);
  const digest = await contextDigest(context, image.fromBase && base ? [base.id] : []);
  const labels = await engine.imageLabels(image.tag);
  if (labels?.[LABEL_INPUTS] === digest) return 'cached';
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
