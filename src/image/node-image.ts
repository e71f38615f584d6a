import { join } from 'node:path';
import { artifactsFor, DEFAULT_RELEASE, releaseOf, supportedVersions, type Artifact, type KubernetesRelease } from '../artifacts/manifest.js';
import { ArtifactCache } from '../artifacts/cache.js';
import { resolveArtifacts, type Produce, type ResolvedArtifact, type SourceChoice } from '../artifacts/resolve.js';
import { NODE_IMAGE_REPOSITORY, nodeImageFor } from '../config/defaults.js';
import type { Provider } from '../provider/provider.js';
import type { StepNote } from '../util/progress.js';
import { UsageError } from '../util/errors.js';
import { cacheDir, projectRoot } from '../util/paths.js';
import type { Progress } from '../util/progress.js';
import { ensureBaseImage } from './base.js';
import { contextDigest, contextStream, fileEntry, folderFiles, linkOrFileEntries, uniqueTargets, type ContextFile } from './context.js';
import { ensurePodImage, POD_IMAGE_ARTIFACTS, podImageList, savePodImages } from './pod-images.js';

export const LABEL_NODE_IMAGE_INPUTS = 'dev.kc.node-image.inputs';
export const LABEL_KUBERNETES_VERSION = 'dev.kc.kubernetes-version';

/** A tag that reads as a Kubernetes version, e.g. `v1.36.0` or `v1.37.2-dev`: it claims what the image runs. */
const VERSION_TAG = /^(v\d+\.\d+\.\d+)(?:[-+].*)?$/;

/**
 * Why an image name must not be given to the node image kc builds, if it
 * must not: a tag naming another Kubernetes version than the one built
 * would label v1.37.2 binaries as that version.
 */
export function nodeImageTagProblem(image: string, building: string = DEFAULT_RELEASE.kubernetes): string | undefined {
  const at = image.lastIndexOf(':');
  const tag = at > image.lastIndexOf('/') ? image.slice(at + 1) : '';
  const version = VERSION_TAG.exec(tag)?.[1];
  if (version === undefined || version === building) return undefined;
  return (
    `--image ${image} names Kubernetes ${version}, but this build is of Kubernetes ${building}; ` +
    `use a tag of ${building} or one that names no version (e.g. ${image.slice(0, at)}:dev), ` +
    `or build ${version} with --kubernetes-version ${version}`
  );
}

/** The release kc builds for an image name it owns (`kc/node:<supported version>`); undefined for any other name. */
export function buildableRelease(image: string): KubernetesRelease | undefined {
  const prefix = `${NODE_IMAGE_REPOSITORY}:`;
  return image.startsWith(prefix) ? releaseOf(image.slice(prefix.length)) : undefined;
}

export interface NodeImageOptions {
  engine: Provider;
  progress: Progress;
  tag?: string;
  source?: SourceChoice;
  /** The Kubernetes release to build: the default (newest) unless told. */
  release?: KubernetesRelease;
  /** What goes into the image: the release's pinned artifacts unless a test says otherwise. */
  artifacts?: Artifact[];
  /** Where artifacts are cached: ~/.cache/kc unless a test says otherwise. */
  cache?: ArtifactCache;
  /** How a missing artifact is downloaded or built: for real unless a test says otherwise. */
  produce?: Produce;
}

export interface NodeImageResult {
  tag: string;
  /** True when the image had to be built (inputs changed or no image yet). */
  built: boolean;
  /** Artifacts that were downloaded or built during this run (empty on a warm run). */
  producedArtifacts: string[];
  sizeBytes: number;
}

async function artifactFiles(resolved: ResolvedArtifact[]): Promise<ContextFile[]> {
  const files: ContextFile[] = [];
  for (const { artifact, entry } of resolved) {
    if (POD_IMAGE_ARTIFACTS.has(artifact.name)) continue;
    const folder = artifact.installDir === '/opt/cni/bin' ? 'cni' : 'bin';
    for (const binary of artifact.binaries) {
      const [file, linked] = await linkOrFileEntries(join(entry.binDir, binary), `${folder}/${binary}`);
      // The record's sha256 is of the content the name gives: the file's, or the linked file's.
      if (file && !file.linkTarget) file.sha256 = entry.record.binaries[binary];
      if (linked) linked.sha256 = entry.record.binaries[binary];
      files.push(...[file, linked].filter((f): f is ContextFile => f !== undefined));
    }
  }
  return uniqueTargets(files);
}

/** `kc build node-image`: base image, artifacts, pod images, then the node image itself. */
export async function buildNodeImage(options: NodeImageOptions): Promise<NodeImageResult> {
  const { engine, progress } = options;
  const release = options.release ?? DEFAULT_RELEASE;
  const tag = options.tag ?? nodeImageFor(release.kubernetes);
  const tagProblem = nodeImageTagProblem(tag, release.kubernetes);
  if (tagProblem) throw new UsageError(tagProblem);
  await progress.step('Docker engine', async (note) => note(await engine.ensureReachable()));
  const base = await progress.step('Base image', (note) => ensureBaseImage(engine, note));
  const cache = options.cache ?? new ArtifactCache(cacheDir());
  const resolved = await resolveArtifacts(
    options.artifacts ?? artifactsFor(release),
    { cache, choice: options.source ?? 'auto', produce: options.produce },
    progress,
  );
  // One folder per release: the archives keep their names inside the node image.
  const imagesDir = join(cache.root, 'images', release.kubernetes);
  const podImages = podImageList(release);
  await progress.step('Pod images', async (note) => {
    const how: string[] = [];
    const baseImage = { tag: base, id: (await engine.imageId(base)) ?? base };
    for (const image of podImages) how.push(`${image.name} ${await ensurePodImage(engine, image, resolved, baseImage)}`);
    await savePodImages(engine, podImages, imagesDir);
    note(how.join(', '));
  });
  const context: ContextFile[] = [
    await fileEntry(join(projectRoot(), 'node-image', 'Dockerfile'), 'Dockerfile'),
    ...(await folderFiles(join(projectRoot(), 'node-image', 'files'), 'files')),
    await fileEntry(join(projectRoot(), 'scripts', 'runc-capfilter'), 'runc-capfilter'),
    ...(await artifactFiles(resolved)),
    ...(await Promise.all(podImages.map((i) => fileEntry(join(imagesDir, `${i.name}.tar`), `images/${i.name}.tar`)))),
  ];
  const built = await progress.step(`Node image ${tag}`, async (note) => {
    const idOf = async (image: string): Promise<string> => {
      const id = await engine.imageId(image);
      if (id === undefined) throw new Error(`image ${image} disappeared while the node image was being built: run the build again`);
      return id;
    };
    const baseId = await idOf(base);
    const podImageIds = await Promise.all(podImages.map((i) => idOf(i.tag)));
    // Image archives differ byte-wise between saves; their image IDs do not.
    const digest = await contextDigest(
      context.filter((f) => !f.target.startsWith('images/')),
      [baseId, ...podImageIds],
    );
    const labels = await engine.imageLabels(tag);
    if (labels?.[LABEL_NODE_IMAGE_INPUTS] === digest) {
      note('up to date');
      return false;
    }
    await engine.buildImage(contextStream(context), {
      tag,
      buildArgs: { BASE_IMAGE: base },
      labels: { [LABEL_NODE_IMAGE_INPUTS]: digest, [LABEL_KUBERNETES_VERSION]: release.kubernetes },
    });
    return true;
  });
  const producedArtifacts = resolved.filter((r) => !r.cached).map((r) => r.artifact.name);
  return { tag, built, producedArtifacts, sizeBytes: await engine.imageSize(tag) };
}

export interface ReadyNodeImageOptions {
  engine: Provider;
  progress: Progress;
  build: (options: NodeImageOptions) => Promise<unknown>;
  image: string;
  /** The version of an image without kc's label (one made by hand): what the caller asked for. */
  unlabelled: string;
}

/**
 * Makes a node image ready for a cluster: used if present, built when it is
 * kc's own of a supported version and missing (there is no registry to pull
 * it from; each part shows under the caller's step, as a cold build takes
 * minutes), then copied to every engine the cluster spans. Returns the
 * Kubernetes version it runs (its label), refused when kc cannot set it up.
 */
export async function readyNodeImage(options: ReadyNodeImageOptions, note: StepNote): Promise<string> {
  const { engine, image } = options;
  let labels = await engine.imageLabels(image);
  if (labels) {
    note(image);
  } else {
    const release = buildableRelease(image);
    if (!release) throw new Error(`node image ${image} does not exist: build it with \`kc build node-image --image ${image}\``);
    note(`building ${image}, once`);
    await options.build({ engine, progress: options.progress.nested(), tag: image, release });
    labels = (await engine.imageLabels(image)) ?? {};
  }
  const version = labels[LABEL_KUBERNETES_VERSION] ?? options.unlabelled;
  if (!releaseOf(version)) {
    throw new Error(
      `node image ${image} runs Kubernetes ${version} (its label ${LABEL_KUBERNETES_VERSION}), which this kc cannot set up: ` +
        `use --kubernetes-version with one of ${supportedVersions()}`,
    );
  }
  const copiedTo = await engine.shareImage(image);
  if (copiedTo.length > 0) note(`${image}, copied to ${copiedTo.join(', ')}`);
  return version;
}
