import { DockerEngine } from '../../src/provider/docker/engine.js';
import { buildNodeImage } from '../../src/image/node-image.js';
import { createProgress } from '../../src/util/progress.js';
import { E2E_NODE_IMAGE } from './helpers.js';

/**
 * The end-to-end tests need a real Docker engine and kc's node image. When
 * either is missing they fail here, loudly: they are never skipped.
 */
export default async function setup(): Promise<void> {
  const engine = new DockerEngine();
  await engine.ensureReachable();
  await buildNodeImage({ engine, progress: createProgress('normal'), tag: E2E_NODE_IMAGE });
}
