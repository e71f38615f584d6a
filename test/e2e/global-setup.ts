import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArtifactCache } from '../../src/artifacts/cache.js';
import { E2E_ARTIFACTS } from '../../src/artifacts/manifest.js';
import { missingArtifacts } from '../../src/artifacts/resolve.js';
import { DockerEngine } from '../../src/provider/docker/engine.js';
import { buildNodeImage } from '../../src/image/node-image.js';
import { cacheDir } from '../../src/util/paths.js';
import { createProgress } from '../../src/util/progress.js';
import { E2E_NODE_IMAGE } from './helpers.js';

const KC = fileURLToPath(new URL('../../bin/kc', import.meta.url));

/** Where the suite built ahead writes its progress: read it when the conformance file waits long. */
const SUITE_BUILD_LOG = join(tmpdir(), 'kc-e2e-suite-build.log');

/**
 * The end-to-end tests need a real Docker engine and kc's node image. When
 * either is missing they fail here, loudly: they are never skipped.
 */
export default async function setup(): Promise<() => void> {
  const engine = new DockerEngine();
  await engine.ensureReachable();
  await buildNodeImage({ engine, progress: createProgress('normal'), tag: E2E_NODE_IMAGE });
  const suiteBuild = await buildSuiteAhead();
  return () => {
    // A run that ends early (a failure, Ctrl-C) must not leave a Go build running.
    if (suiteBuild?.exitCode !== null || suiteBuild.pid === undefined) return;
    try {
      process.kill(-suiteBuild.pid, 'SIGTERM');
    } catch {
      // It ended between the check and the kill: nothing to stop.
    }
  };
}

/**
 * On a machine without the conformance suite (a cold CI run: 15 minutes of
 * both cores from the Go module), it is built now at the lowest CPU priority,
 * while the other files run: their clusters leave the cores idle much of the
 * time (booting, polls waiting). The conformance file's `kc conformance`
 * waits for it through the artifact cache's lock and takes the result, or
 * builds what is still missing itself. Nothing happens when it is cached.
 */
async function buildSuiteAhead(): Promise<ChildProcess | undefined> {
  const missing = await missingArtifacts(E2E_ARTIFACTS, new ArtifactCache(cacheDir()), 'auto');
  if (missing.length === 0) return undefined;
  const log = openSync(SUITE_BUILD_LOG, 'w');
  process.stdout.write(`Building the conformance suite (${missing.map((a) => a.name).join(', ')}) at low priority while the other tests run: ${SUITE_BUILD_LOG}\n`);
  const child = spawn('nice', ['-n', '19', process.execPath, KC, 'conformance', '--build-only'], { stdio: ['ignore', log, log], detached: true });
  child.unref();
  return child;
}
