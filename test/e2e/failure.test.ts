import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterStateDir } from '../../src/state/cluster-state.js';
import { clusterResources } from './cluster-helpers.js';
import { kc, testClusterName } from './helpers.js';

/**
 * A cluster whose API server cannot start (an unknown flag, given through
 * the config file): kc must name the step, show the unit's journal, and
 * remove everything it created, unless --retain asks to keep it.
 */
const NAME = testClusterName('broken');
let dir: string;
let config: string;
let kubeconfig: string;

// --wait is one budget for the whole create: enough to boot the nodes on a busy machine, and then for the
// API server to fail (and say why in its journal) until the budget runs out.
const createBroken = (...extra: string[]) =>
  kc(['create', 'cluster', '--config', config, '--wait', '60', '--kubeconfig', kubeconfig, ...extra]);

describe('a create that fails half-way', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kc-broken-'));
    config = join(dir, 'broken.yaml');
    kubeconfig = join(dir, 'kubeconfig');
    await writeFile(config, [
      'apiVersion: kc.dev/v1alpha1',
      'kind: Cluster',
      `name: ${NAME}`,
      'controlPlanes: 1',
      'workers: 1',
      'extraArgs:',
      '  apiserver: { no-such-flag: "1" }',
      '',
    ].join('\n'));
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
  });

  afterAll(async () => {
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    await rm(dir, { recursive: true, force: true });
  });

  it('names the failed step, shows the failing unit\'s journal, and leaves nothing behind', async () => {
    const result = await createBroken();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('creating the cluster failed at "Starting control plane"');
    expect(result.stderr).toMatch(/journal of kube-apiserver\.service/);
    expect(result.stderr).toMatch(/unknown flag: --no-such-flag/);
    expect(result.stderr).toContain('Everything created so far was removed');
    expect(await clusterResources(NAME)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    await expect(stat(clusterStateDir(NAME))).rejects.toThrow();
    expect(await readFile(kubeconfig, 'utf8').catch(() => '')).not.toContain(`kc-${NAME}`);
  });

  it('keeps the nodes with --retain, for debugging, until kc delete cluster', async () => {
    const result = await createBroken('--retain');
    expect(result.code).toBe(1);
    expect(result.stderr).not.toContain('Everything created so far was removed');
    expect(result.stderr).toContain(`The nodes were kept (--retain): collect their logs with \`kc export logs --name ${NAME}\``);
    expect((await clusterResources(NAME)).containers).toBe(3);
    const deleted = await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(await clusterResources(NAME)).toEqual({ containers: 0, networks: 0, volumes: 0 });
  });
});
