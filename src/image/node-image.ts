import { join } from 'node:path';
import { artifactsFor, DEFAULT_RELEASE, releaseOf, supportedVersions, type Artifact, type KubernetesRelease } from '../artifacts/manifest.js';
import { ArtifactCache } from '../artifacts/cache.js';
import { resolveArtifacts, type Produce, type ResolvedArtifact, type SourceChoice } from '../artifacts/resolve.js';
import { NODE_IMAGE_REPOSITORY, nodeImageFor } from '../config/defaults.js';
import type { Images, Provider } from '../provider/provider.js';
import type { StepNote } from '../util/progress.js';
import { messageOf, UsageError } from '../util/errors.js';
import { cacheDir, projectRoot } from '../util/paths.js';
import type { Progress } from '../util/progress.js';
import { ensureBaseImage } from './base.js';
import { contextDigest, contextStream, fileEntry, folderFiles, linkOrFileEntries, uniqueTargets, type ContextFile } from './context.js';
import { artifactsNeeded, ensurePodImage, POD_IMAGE_ARTIFACTS, podImageList, podImageSources, savePodImages } from './pod-images.js';
import { labelProblem, publishedNodeImage, publishedRepository } from './published.js';
import { LABEL_KUBERNETES_VERSION, LABEL_RECIPE, nodeImageLabels, nodeImageRecipe } from './recipe.js';

export { LABEL_KUBERNETES_VERSION } from './recipe.js';
export const LABEL_NODE_IMAGE_INPUTS = 'dev.kc.node-image.inputs';

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
  const choice = options.source ?? 'auto';
  const podImages = podImageList(release);
  // Decided before any artifact is produced: where upstream's pod images can
  // be pulled, their artifacts are neither downloaded nor built.
  const sources = await progress.step('Upstream pod images', async (note) => {
    const found = await podImageSources(engine, podImages, choice !== 'source');
    const pulled = found.pulled.map((i) => i.name);
    const kept = found.upstream.filter((i) => !found.pulled.includes(i)).map((i) => i.name);
    const built = found.toBuild.map((i) => i.name);
    note([
      ...(pulled.length > 0 ? [`pulled ${pulled.join(', ')}`] : []),
      ...(kept.length > 0 ? [`present ${kept.join(', ')}`] : []),
      ...(built.length > 0 ? [`kc builds ${built.join(', ')}${choice === 'source' ? '' : ' (no registry serves them)'}`] : []),
    ].join('; '));
    return found;
  });
  const resolved = await resolveArtifacts(
    artifactsNeeded(options.artifacts ?? artifactsFor(release), sources),
    { cache, choice, produce: options.produce },
    progress,
  );
  // One folder per release: the archives keep their names inside the node image.
  const imagesDir = join(cache.root, 'images', release.kubernetes);
  await progress.step('Pod images', async (note) => {
    const how: string[] = sources.upstream.map((image) => `${image.name} upstream's`);
    const baseImage = { tag: base, id: (await engine.imageId(base)) ?? base };
    for (const image of sources.toBuild) how.push(`${image.name} ${await ensurePodImage(engine, image, resolved, baseImage)}`);
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
    const labels = await nodeImageLabels(release);
    // Image archives differ byte-wise between saves; their image IDs do not.
    // The labels count too: an image made before kc labelled it is made again.
    const digest = await contextDigest(
      context.filter((f) => !f.target.startsWith('images/')),
      [baseId, ...podImageIds, JSON.stringify(labels)],
    );
    if ((await engine.imageLabels(tag))?.[LABEL_NODE_IMAGE_INPUTS] === digest) {
      note('up to date');
      return false;
    }
    await engine.buildImage(contextStream(context), {
      tag,
      buildArgs: { BASE_IMAGE: base },
      labels: { [LABEL_NODE_IMAGE_INPUTS]: digest, ...labels },
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
 * Makes a node image ready for a cluster, then copies it to every engine the
 * cluster spans. Present and current: used. kc's own name
 * (`kc/node:<version>`) missing or made by another kc: the published image
 * of this kc's recipe is pulled (like kind's default image), else it is
 * built (each part shows under the caller's step: a cold build takes
 * minutes). Any other name: pulled. Returns the Kubernetes version the image
 * runs (its label), refused when kc cannot set it up.
 */
export async function readyNodeImage(options: ReadyNodeImageOptions, note: StepNote): Promise<string> {
  const { engine, image } = options;
  const own = buildableRelease(image);
  let labels = await engine.imageLabels(image);
  // Made by kc (it has kc's inputs label), but by another kc: its node files may not be what this kc writes.
  const stale = labels?.[LABEL_NODE_IMAGE_INPUTS] !== undefined && own ? await labelProblem(labels, own) : undefined;
  if (stale) {
    options.progress.info(`${image} ${stale}: making it again`);
    labels = undefined;
  }
  if (labels) note(image);
  else labels = own ? await obtainOwnNodeImage(options, own, note) : await pullNamedNodeImage(engine, image, note);
  const version = labels[LABEL_KUBERNETES_VERSION] ?? options.unlabelled;
  const release = releaseOf(version);
  if (!release) {
    throw new Error(
      `node image ${image} runs Kubernetes ${version} (its label ${LABEL_KUBERNETES_VERSION}), which this kc cannot set up: ` +
        `use --kubernetes-version with one of ${supportedVersions()}`,
    );
  }
  if (!own && labels[LABEL_RECIPE] !== undefined && labels[LABEL_RECIPE] !== (await nodeImageRecipe(release))) {
    options.progress.info(
      `warning: ${image} ${await labelProblem(labels, release)}: its node files may not match what this kc writes; ` +
        `if the cluster does not come up, build the image with this kc: kc build node-image --image ${image}`,
    );
  }
  const copiedTo = await engine.shareImage(image);
  if (copiedTo.length > 0) note(`${image}, copied to ${copiedTo.join(', ')}`);
  return version;
}

/** kc's own node image: the published one pulled and named `image`, else built. Returns its labels. */
async function obtainOwnNodeImage(options: ReadyNodeImageOptions, release: KubernetesRelease, note: StepNote): Promise<Record<string, string>> {
  const { engine, image } = options;
  const repository = publishedRepository();
  let why = 'KC_NODE_IMAGE_REPOSITORY=none';
  if (repository) {
    const published = await publishedNodeImage(repository, release);
    note(`pulling ${published}`);
    try {
      await engine.pullImage(published);
      const labels = (await engine.imageLabels(published)) ?? {};
      const problem = await labelProblem(labels, release);
      if (!problem) {
        await engine.tagImage(published, image);
        note(`pulled ${published}`);
        return labels;
      }
      why = `${published} ${problem}`;
    } catch (error) {
      why = `${published}: ${shortReason(messageOf(error))}`;
    }
  }
  note(`building ${image}, once; no published image (${why})`);
  await options.build({ engine, progress: options.progress.nested(), tag: image, release });
  return (await engine.imageLabels(image)) ?? {};
}

/** A node image named by the user and not on the engine: pulled, or an error that names the fix. */
async function pullNamedNodeImage(engine: Pick<Images, 'pullImage' | 'imageLabels'>, image: string, note: StepNote): Promise<Record<string, string>> {
  note(`pulling ${image}`);
  try {
    await engine.pullImage(image);
  } catch (error) {
    throw new Error(
      `node image ${image} is not on this engine and cannot be pulled (${shortReason(messageOf(error))}): ` +
        `build it with \`kc build node-image --image ${image}\`, or check the name`,
    );
  }
  note(`pulled ${image}`);
  return (await engine.imageLabels(image)) ?? {};
}

/** The last clause of an engine's error: "no such host", "manifest unknown", "connection refused". */
function shortReason(message: string): string {
  return message.split(': ').pop()?.trim() ?? message;
}
