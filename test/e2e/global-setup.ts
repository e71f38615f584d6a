import { DockerEngine } from '../../src/provider/docker/engine.js';
import { buildNodeImage } from '../../src/image/node-image.js';
import { createProgress } from '../../src/util/progress.js';
import { E2E_NODE_IMAGE } from './helpers.js';

/**
 * The end-to-end tests need a real Docker engine and kc's node image. When
 * either is missing they fail here, loudly: they are never skipped.
 *
 * The conformance suite is not built ahead here: on a cold 2-core machine a
 * background `go test -c` beside the other files' clusters made both slower
 * (measured: the suite build went from 15 to more than 48 minutes, disk-bound,
 * and concurrent.test.ts took 12 minutes). The conformance file builds
 * it when it runs, through the artifact cache's lock.
 */
export default async function setup(): Promise<void> {
  const engine = new DockerEngine();
  await engine.ensureReachable();
  await buildNodeImage({ engine, progress: createProgress('normal'), tag: E2E_NODE_IMAGE });
}
