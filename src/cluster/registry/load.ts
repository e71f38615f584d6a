import { canonicalImage, isImageReference, splitImageReference } from '../../util/image-ref.js';
import type { Images, Registries } from '../../provider/provider.js';
import { mirrorName } from '../../components/containerd.js';
import { registryName } from '../../model/plan.js';

/** What became of one image asked for. */
export type LoadOutcome =
  | { image: string; pushedAs: string; pullAs: string }
  | { image: string; missing: true }
  | { image: string; refused: string };

/**
 * The name an image is pushed under: where containerd's mirror looks for the
 * name pods use (`redis:7.0.7` → `localhost:5001/docker.io/library/redis:7.0.7`),
 * or, for a registry kc does not mirror and with `--as`, a name of kc's
 * registry that pods must then use themselves. Returns it with the name pods
 * pull, or why the image cannot go.
 */
export function registryTarget(image: string, port: number, as?: string): { pushAs: string; pullAs: string } | { refused: string } {
  const own = (path: string, tag: string) => {
    const name = `localhost:${port}/${path}:${tag}`;
    return { pushAs: name, pullAs: name };
  };
  if (as !== undefined) {
    const { repository, tag } = splitImageReference(as.replace(/^localhost:\d+\//, ''));
    const first = repository.split('/')[0] ?? '';
    const namesAHost = repository.includes('/') && (/[.:]/.test(first) || first === 'localhost');
    if (!isImageReference(as) || namesAHost) {
      return { refused: `--as ${as} is not a name in kc's registry: give a repository and tag without a registry host, e.g. --as app:dev or --as team/app:1.2` };
    }
    return own(repository, tag ?? 'latest');
  }
  const canonical = canonicalImage(image);
  if (!canonical) {
    return { refused: 'names a digest, or is not an image name: kc pushes by tag (docker push makes a manifest of its own, which a digest would not match); name it by a tag' };
  }
  const mirrored = mirrorName(image, port);
  if (mirrored) return { pushAs: mirrored, pullAs: image };
  // Already a name of a registry on this host (localhost:5001/app:1): the same path in kc's.
  if (canonical.registry.startsWith('localhost')) return own(canonical.path, canonical.tag);
  // A registry kc does not mirror: kept under its host name, and pods must name kc's registry.
  return own(`${canonical.registry}/${canonical.path}`, canonical.tag);
}

/**
 * `kc load registry`: pushes images of the host's Docker into kc's registry
 * on `port` under the names its mirror serves, so pods that name them as
 * upstream does (a chart's `redis:7.0.7`, `ghcr.io/owner/app:1`) pull them
 * offline, imagePullPolicy Always included. Images the host does not have are
 * reported, not fatal: a chart may name more than one machine has.
 */
export async function loadIntoRegistry(
  engine: Pick<Images, 'imageLabels' | 'pushImage'> & Pick<Registries, 'registryState'>,
  port: number,
  images: readonly string[],
  as?: string,
): Promise<LoadOutcome[]> {
  const registry = await engine.registryState(registryName(port));
  if (!registry?.running) {
    throw new Error(
      `kc's registry on localhost:${port} is not running: it runs beside the clusters that use it ` +
        `(kc create cluster starts it, kc start cluster starts it again); kc get clusters lists them`,
    );
  }
  const outcomes: LoadOutcome[] = [];
  for (const image of images) {
    const target = registryTarget(image, port, as);
    if ('refused' in target) {
      outcomes.push({ image, refused: target.refused });
    } else if (!(await engine.imageLabels(image))) {
      outcomes.push({ image, missing: true });
    } else {
      await engine.pushImage(image, target.pushAs);
      outcomes.push({ image, pushedAs: target.pushAs, pullAs: target.pullAs });
    }
  }
  return outcomes;
}
