import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectlFor } from './cluster-helpers.js';
import { kc, testClusterName } from './helpers.js';

/** `--cni none` (kind's disableDefaultCNI): the cluster comes up without a pod network, and kc says so instead of waiting. */
const NAME = testClusterName('nocni');
let dir: string;
let kubeconfig: string;
let created: Awaited<ReturnType<typeof kc>>;

describe('kc create cluster --cni none', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kc-nocni-'));
    kubeconfig = join(dir, 'kubeconfig');
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    created = await kc(['create', 'cluster', '--name', NAME, '--cni', 'none', '--control-planes', '1', '--workers', '1', '--kubeconfig', kubeconfig]);
  });

  afterAll(async () => {
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    await rm(dir, { recursive: true, force: true });
  });

  it('succeeds and says that nodes stay NotReady until a pod network is installed', () => {
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toMatch(/--cni none: nodes stay NotReady until you install a pod network/);
  });

  it('leaves the worker registered but NotReady, with no CNI configuration on it', async () => {
    const kubectl = kubectlFor(kubeconfig, `kc-${NAME}`);
    const ready = await kubectl(['get', 'node', `${NAME}-worker-0`, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
    expect(ready.trim()).toBe('False');
    const message = await kubectl(['get', 'node', `${NAME}-worker-0`, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].message}']);
    expect(message).toMatch(/network/i);
    expect((await kubectl(['get', '--raw', '/readyz'])).trim()).toBe('ok');
  });
});
