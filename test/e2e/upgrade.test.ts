import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KUBERNETES_RELEASES, releaseOf } from '../../src/artifacts/manifest.js';
import { nodeImageFor } from '../../src/config/defaults.js';
import { DockerEngine } from '../../src/provider/docker/engine.js';
import { execOrThrow } from '../../src/provider/provider.js';
import { loadState } from '../../src/state/cluster-state.js';
import { adminAccess, startApiLoad, type Sample } from './api-load.js';
import { kubectlFor } from './cluster-helpers.js';
import { expectOk, kc, testClusterName } from './helpers.js';

/**
 * A cluster made on the previous minor, upgraded in place to the newest while
 * reads and writes go through the lb. The previous minor's node image is
 * built in the set-up (from cached artifacts after the first time): never
 * skipped.
 */
const NAME = testClusterName('upgrade');
const CONTEXT = `kc-${NAME}`;
const [NEWEST, PREVIOUS] = KUBERNETES_RELEASES;
const FROM = PREVIOUS!.kubernetes;
const TO = NEWEST!.kubernetes;
const engine = new DockerEngine();
let dir: string;
let kubeconfig: string;
let kubectl: ReturnType<typeof kubectlFor>;

/** Each node's kubelet version, as the API reports it. */
async function kubeletVersions(): Promise<Record<string, string>> {
  const out = await kubectl(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.nodeInfo.kubeletVersion}{"\\n"}{end}']);
  return Object.fromEntries(out.trim().split('\n').map((line) => line.split('=') as [string, string]));
}

async function serverVersion(): Promise<string> {
  const out = await kubectl(['version', '-o', 'json']);
  return (JSON.parse(out) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion;
}

describe(`kc upgrade cluster: ${FROM} to ${TO}`, () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kc-upgrade-'));
    kubeconfig = join(dir, 'kubeconfig');
    kubectl = kubectlFor(kubeconfig, CONTEXT);
    await kc(['delete', 'cluster', '--name', NAME]);
    // A cold machine builds the previous minor's Kubernetes, etcd and CoreDNS from their modules (about 5 minutes on 2 cores).
    await expectOk(['build', 'node-image', '--kubernetes-version', FROM]);
    await expectOk(['create', 'cluster', '--name', NAME, '--kubernetes-version', FROM, '--kubeconfig', kubeconfig]);
  }, 45 * 60_000);

  afterAll(async () => {
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it(`runs ${FROM} everywhere, with the etcd its kubeadm pins`, async () => {
    expect(await serverVersion()).toBe(FROM);
    expect(Object.values(await kubeletVersions())).toEqual([FROM, FROM]);
    const etcd = await execOrThrow(engine, `${NAME}-master-0`, ['etcd', '--version']);
    expect(etcd).toContain(`etcd Version: ${releaseOf(FROM)!.etcd.replace(/^v/, '')}`);
    expect((await loadState(NAME))?.plan.spec.kubernetesVersion).toBe(FROM);
  });

  it('refuses a downgrade and an unknown version, changing nothing', async () => {
    await expectOk(['upgrade', 'cluster', '--name', NAME, '--kubernetes-version', FROM]).then((r) => expect(r.stderr).toContain(`runs Kubernetes ${FROM} already: nothing to do`));
    const unknown = await kc(['upgrade', 'cluster', '--name', NAME, '--kubernetes-version', 'v1.99.0']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--kubernetes-version v1.99.0 is not one kc builds node images for');
    const older = KUBERNETES_RELEASES[2]!.kubernetes;
    const down = await kc(['upgrade', 'cluster', '--name', NAME, '--kubernetes-version', older]);
    expect(down.code).toBe(2);
    expect(down.stderr).toContain(`${older} is older than the cluster's ${FROM}: kc does not downgrade`);
    expect((await loadState(NAME))?.operation).toBeUndefined();
  });

  it(`upgrades to ${TO} one node at a time while every read and write through the lb succeeds, keeping the objects`, async () => {
    await kubectl(['create', 'configmap', 'before-upgrade', '-n', 'default', '--from-literal=kept=yes']);
    await kubectl(['create', 'deployment', 'app', '--image=registry.k8s.io/pause:3.10.2', '--replicas=2']);
    await kubectl(['patch', 'deployment', 'app', '--type=json', '-p', '[{"op":"add","path":"/spec/template/spec/containers/0/imagePullPolicy","value":"Never"}]']);
    await kubectl(['rollout', 'status', 'deployment/app', '--timeout=120s']);
    const before = (await loadState(NAME))!;
    const load = startApiLoad(await adminAccess(kubeconfig, CONTEXT));
    let samples: Sample[] = [];
    let upgraded;
    try {
      upgraded = await kc(['upgrade', 'cluster', '--name', NAME, '--kubernetes-version', TO]);
    } finally {
      samples = await load.stop();
    }
    expect(upgraded.code, upgraded.stderr).toBe(0);
    const failed = samples.filter((s) => !s.ok).map((s) => `${s.kind} at +${s.started - samples[0]!.started}ms: ${s.error}`);
    process.stderr.write(`  upgrade: ${samples.length} requests through the lb, ${failed.length} failed${failed.length ? `: ${failed.join('; ')}` : ''}\n${upgraded.stderr}`);
    expect(failed).toEqual([]);
    expect(samples.length).toBeGreaterThan(100);
    expect(upgraded.stderr).toMatch(new RegExp(`runs Kubernetes ${TO} \\(from ${FROM}\\) in [\\d.]+s: ${NAME}-master-0 [\\d.]+s, ${NAME}-master-1 [\\d.]+s, ${NAME}-worker-0 [\\d.]+s, ${NAME}-worker-1 [\\d.]+s`));

    // Every acknowledged write is still there.
    const written = samples.filter((s) => s.kind === 'write' && s.ok).length;
    const listed = (await kubectl(['get', 'configmaps', '-n', 'default', '-o', 'name'])).split('\n').filter((l) => l.startsWith('configmap/load-')).length;
    expect(listed).toBeGreaterThanOrEqual(written);
    expect(await kubectl(['get', 'configmap', 'before-upgrade', '-o', 'jsonpath={.data.kept}'])).toBe('yes');

    expect(await serverVersion()).toBe(TO);
    expect(Object.values(await kubeletVersions())).toEqual([TO, TO]);
    const after = (await loadState(NAME))!;
    expect(after.plan.spec).toMatchObject({ kubernetesVersion: TO, nodeImage: nodeImageFor(TO) });
    expect(after.operation).toBeUndefined();
    // Same names, addresses and certificates.
    expect(after.plan.masters.concat(after.plan.workers).map((n) => `${n.name} ${n.ip}`)).toEqual(before.plan.masters.concat(before.plan.workers).map((n) => `${n.name} ${n.ip}`));
    expect(after.pki.apiServer.certPem).toBe(before.pki.apiServer.certPem);
    for (const master of after.plan.masters) {
      expect(await execOrThrow(engine, master.name, ['etcd', '--version']), master.name).toContain(`etcd Version: ${releaseOf(TO)!.etcd.replace(/^v/, '')}`);
    }
    expect(await kubectl(['get', 'deployment', 'coredns', '-n', 'kube-system', '-o', 'jsonpath={.spec.template.spec.containers[0].image}'])).toBe(`registry.k8s.io/coredns/coredns:${releaseOf(TO)!.coredns}`);
    await kubectl(['rollout', 'status', 'deployment/app', '--timeout=120s']);
    await kubectl(['wait', '--for=condition=Ready', 'nodes', '--all', '--timeout=60s']);
  }, 30 * 60_000);
});
