import { readyNodeImage } from '../../image/node-image.js';
import type { ClusterSpec } from '../../config/types.js';
import type { CreateInput, Step } from './context.js';

/**
 * The node image is present (built when it is kc's own and missing) on every
 * engine the cluster uses. The spec leaves with the Kubernetes version the
 * image runs (its label): `--image` names an image, not a version.
 */
export const ensureNodeImage: Step<CreateInput, { spec: ClusterSpec }> = {
  title: 'Ensuring node image',
  async run({ engine, spec, progress, buildNodeImage }, note) {
    const kubernetesVersion = await readyNodeImage({ engine, progress, build: buildNodeImage, image: spec.nodeImage, unlabelled: spec.kubernetesVersion }, note);
    return { spec: { ...spec, kubernetesVersion } };
  },
};
