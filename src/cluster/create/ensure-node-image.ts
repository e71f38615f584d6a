import { releaseOf, supportedVersions } from '../../artifacts/manifest.js';
import type { ClusterSpec } from '../../config/types.js';
import { buildableRelease, LABEL_KUBERNETES_VERSION } from '../../image/node-image.js';
import type { CreateInput, Step } from './context.js';

/**
 * Uses the node image if present; builds it when it is kc's own of a supported
 * version and missing (there is no registry to pull it from), showing each
 * part. The spec leaves with the Kubernetes version the image runs (its
 * label): `--image` names an image, not a version.
 */
export const ensureNodeImage: Step<CreateInput, { spec: ClusterSpec }> = {
  title: 'Ensuring node image',
  async run({ engine, spec, progress, buildNodeImage }, note) {
    const image = spec.nodeImage;
    let labels = await engine.imageLabels(image);
    if (labels) {
      note(image);
    } else {
      const release = buildableRelease(image);
      if (!release) throw new Error(`node image ${image} does not exist: build it with \`kc build node-image --image ${image}\``);
      note(`building ${image}, once`);
      // Each part (every artifact: downloaded or built from source) shows under this step: a cold build takes minutes.
      await buildNodeImage({ engine, progress: progress.nested(), tag: image, release });
      labels = (await engine.imageLabels(image)) ?? {};
    }
    const version = labels[LABEL_KUBERNETES_VERSION] ?? spec.kubernetesVersion;
    if (!releaseOf(version)) {
      throw new Error(
        `node image ${image} runs Kubernetes ${version} (its label ${LABEL_KUBERNETES_VERSION}), which this kc cannot set up: ` +
          `use --kubernetes-version with one of ${supportedVersions()}`,
      );
    }
    const copiedTo = await engine.shareImage(image);
    if (copiedTo.length > 0) note(`${image}, copied to ${copiedTo.join(', ')}`);
    return { spec: { ...spec, kubernetesVersion: version } };
  },
};
