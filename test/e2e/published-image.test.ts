import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RELEASE, REGISTRY_IMAGE } from '../../src/artifacts/manifest.js';
import { DEFAULT_NODE_IMAGE } from '../../src/config/defaults.js';
import { publishedNodeImage } from '../../src/image/published.js';
import { DockerEngine } from '../../src/provider/docker/engine.js';
import { kubectlFor } from './cluster-helpers.js';
import { kc, testClusterName } from './helpers.js';

/**
 * A published node image, as a runner online meets it: `kc build node-image
 * --push` puts the image into a registry (here one of the test's own on
 * 127.0.0.1), the image leaves this machine, and `kc create cluster` pulls
 * it from KC_NODE_IMAGE_REPOSITORY instead of building it, checks its
 * labels, says so, and comes up on it.
 */
const execFileAsync = promisify(execFile);
const docker = (args: string[]) => execFileAsync('docker', args, { maxBuffer: 16 * 1024 * 1024 });
const NAME = testClusterName('published');
const REGISTRY = `${NAME}-test-registry`;
const engine = new DockerEngine();
let dir: string;
let kubeconfig: string;
let repository: string;

describe('a published node image', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kc-published-'));
    kubeconfig = join(dir, 'kubeconfig');
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    await docker(['rm', '--force', '--volumes', REGISTRY]).catch(() => undefined);
    // The test's own registry, from kc's registry image, on a port the engine picks.
    await docker(['run', '--detach', '--name', REGISTRY, '--publish', '127.0.0.1::5000', REGISTRY_IMAGE]);
    const port = (await docker(['port', REGISTRY, '5000/tcp'])).stdout.trim().split(':').pop();
    repository = `127.0.0.1:${port}/kc-node`;
  });

  afterAll(async () => {
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    // Whatever happened, the machine keeps its default node image for the tests after this one.
    if (!(await engine.imageLabels(DEFAULT_NODE_IMAGE))) {
      const published = await publishedNodeImage(repository, DEFAULT_RELEASE);
      if (!(await engine.imageLabels(published))) await docker(['pull', published]).catch(() => undefined);
      await docker(['tag', published, DEFAULT_NODE_IMAGE]).catch(() => undefined);
    }
    const pushed = (await docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', repository])).stdout.split('\n').filter(Boolean);
    if (pushed.length > 0) await docker(['image', 'rm', ...pushed]).catch(() => undefined);
    await docker(['rm', '--force', '--volumes', REGISTRY]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }, 600_000);

  it('is pushed by kc build node-image --push, then pulled by kc create cluster instead of built', async () => {
    const pushed = await kc(['build', 'node-image', '--push', repository]);
    expect(pushed.code, pushed.stderr).toBe(0);
    const published = await publishedNodeImage(repository, DEFAULT_RELEASE);
    expect(pushed.stderr).toContain(`✓ Pushing ${repository}:${DEFAULT_RELEASE.kubernetes}, ${published}`);

    // The image leaves this machine: every name of it goes (by force: a running cluster's containers keep their layers).
    await docker(['image', 'rm', '--force', DEFAULT_NODE_IMAGE, `${repository}:${DEFAULT_RELEASE.kubernetes}`, published]);
    expect(await engine.imageLabels(DEFAULT_NODE_IMAGE)).toBeUndefined();

    const started = Date.now();
    const created = await kc(['create', 'cluster', '--name', NAME, '--control-planes', '1', '--workers', '1', '--kubeconfig', kubeconfig], {
      KC_NODE_IMAGE_REPOSITORY: repository,
    });
    const seconds = (Date.now() - started) / 1000;
    expect(created.code, created.stderr).toBe(0);
    process.stderr.write(`published-image: the create that pulled the node image took ${seconds.toFixed(1)}s\n`);
    expect(created.stderr).toMatch(new RegExp(`✓ Ensuring node image \\(pulled ${published.replace(/[.]/g, '\\.')}\\)`));
    expect(created.stderr).not.toContain('building');
    expect(await engine.imageLabels(DEFAULT_NODE_IMAGE)).toMatchObject({ 'dev.kc.kubernetes-version': DEFAULT_RELEASE.kubernetes });

    const kubectl = kubectlFor(kubeconfig, `kc-${NAME}`);
    const ready = await kubectl(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}']);
    expect(ready.trim()).toBe(`${NAME}-worker-0=True`);
  }, 1_800_000);

  it('hands out the cluster\'s own kubectl when nothing was built here: read out of a master', async () => {
    const bin = join(dir, 'bin');
    // An empty artifact cache, as on a runner that pulled the node image.
    const exported = await kc(['export', 'kubectl', bin, '--name', NAME], { KC_CACHE_DIR: join(dir, 'empty-cache') });
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toContain(`Wrote kubectl ${DEFAULT_RELEASE.kubernetes} (from ${NAME}-master-0) to ${join(bin, 'kubectl')}`);
    const nodes = await execFileAsync(join(bin, 'kubectl'), ['--kubeconfig', kubeconfig, '--context', `kc-${NAME}`, 'get', 'nodes', '-o', 'name']);
    expect(nodes.stdout.trim()).toBe(`node/${NAME}-worker-0`);
    const version = await execFileAsync(join(bin, 'kubectl'), ['version', '--client', '-o', 'json']);
    expect((JSON.parse(version.stdout) as { clientVersion: { gitVersion: string } }).clientVersion.gitVersion).toBe(DEFAULT_RELEASE.kubernetes);
  }, 300_000);
});
