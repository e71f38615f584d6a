import { DEFAULT_NODE_IMAGE } from '../../config/defaults.js';
import type { CreateInput, Step } from './context.js';

/** Uses the node image if present; builds kc's default one when missing (there is no registry to pull it from), showing each part. */
export const ensureNodeImage: Step<CreateInput, void> = {
  title: 'Ensuring node image',
  async run({ engine, spec, progress, buildNodeImage }, note) {
    const image = spec.nodeImage;
    if (await engine.imageLabels(image)) {
      note(image);
    } else {
      if (image !== DEFAULT_NODE_IMAGE) {
        throw new Error(`node image ${image} does not exist: build it with \`kc build node-image --image ${image}\``);
      }
      note(`building ${image}, once`);
      // Each part (every artifact: downloaded or built from source) shows under this step: a cold build takes minutes.
      await buildNodeImage({ engine, progress: progress.nested(), tag: image });
    }
    const copiedTo = await engine.shareImage(image);
    if (copiedTo.length > 0) note(`${image}, copied to ${copiedTo.join(', ')}`);
  },
};
