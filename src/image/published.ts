import type { KubernetesRelease } from '../artifacts/manifest.js';
import { PUBLISHED_NODE_IMAGE_REPOSITORY } from '../config/defaults.js';
import { isImageReference, splitImageReference } from '../util/image-ref.js';
import { LABEL_KUBERNETES_VERSION, LABEL_RECIPE, nodeImageRecipe } from './recipe.js';

/**
 * Published node images: what `kc build node-image --push` puts in a
 * registry and `kc create cluster` pulls before it would build one, as kind
 * pulls its node image. A published image's tag carries the Kubernetes
 * version and kc's recipe (`v1.37.2-<recipe>`), so kc pulls only an image it
 * can run, never one of another kc's making under the same version.
 */

/** The repository kc pulls node images from: KC_NODE_IMAGE_REPOSITORY, else kc's own; undefined for `none`. */
export function publishedRepository(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env.KC_NODE_IMAGE_REPOSITORY?.trim();
  if (value === 'none') return undefined;
  if (!value) return PUBLISHED_NODE_IMAGE_REPOSITORY;
  if (!isImageReference(value) || splitImageReference(value).tag !== undefined) {
    throw new Error(
      `KC_NODE_IMAGE_REPOSITORY="${value}" is not a repository name: set it to one without a tag (e.g. ghcr.io/owner/kc-node, localhost:5001/kc-node), ` +
        'or to none to never pull a published node image',
    );
  }
  return value;
}

/** The published image of a release this kc runs: `<repository>:<version>-<recipe>`. */
export async function publishedNodeImage(repository: string, release: KubernetesRelease): Promise<string> {
  return `${repository}:${release.kubernetes}-${await nodeImageRecipe(release)}`;
}

/**
 * The names `--push REF` pushes: REF as given when it has a tag; for a bare
 * repository, the version's tag (for people) and the recipe's (what kc pulls).
 */
export async function pushTargets(reference: string, release: KubernetesRelease): Promise<string[]> {
  const { repository, tag } = splitImageReference(reference);
  if (tag !== undefined) return [reference];
  return [`${repository}:${release.kubernetes}`, await publishedNodeImage(repository, release)];
}

/** Why an image's labels do not make it this kc's node image of a release; undefined when they do. */
export async function labelProblem(labels: Record<string, string>, release: KubernetesRelease): Promise<string | undefined> {
  const version = labels[LABEL_KUBERNETES_VERSION];
  if (version !== release.kubernetes) return `runs Kubernetes ${version ?? '(no label)'}, not ${release.kubernetes}`;
  const recipe = await nodeImageRecipe(release);
  if (labels[LABEL_RECIPE] !== recipe) return `was made by another kc (recipe ${labels[LABEL_RECIPE] ?? '(no label)'}, this kc's is ${recipe})`;
  return undefined;
}
