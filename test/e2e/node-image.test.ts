import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as manifest from '../../src/artifacts/manifest.js';
import { DEFAULT_NODE_IMAGE } from '../../src/config/defaults.js';
import { DockerEngine } from '../../src/provider/docker/engine.js';
import { waitForBoot } from '../../src/cluster/node/units.js';
import { Deadline } from '../../src/util/deadline.js';
import { E2E_NODE_IMAGE, kc } from './helpers.js';

const engine = new DockerEngine();
const name = `kc-image-test-${process.pid}`;
const node = { name, role: 'worker' as const, index: 0, ip: '' };

async function inNode(...command: string[]): Promise<string> {
  const result = await engine.exec(name, command);
  return `${result.stdout}${result.stderr}`;
}

describe('the node image', () => {
  beforeAll(async () => {
    // A node container exactly as kc creates one, on Docker's default network.
    await engine.createNode({
      name,
      cluster: name,
      role: 'worker',
      image: E2E_NODE_IMAGE ?? DEFAULT_NODE_IMAGE,
      network: 'bridge',
      ip: undefined,
      ports: [],
      mounts: [],
      volumes: [],
      peers: [],
    });
  });

  afterAll(async () => {
    await engine.removeNode(name);
  });

  it('boots systemd to running, with no failed unit', async () => {
    const failed = await waitForBoot(engine, node, new Deadline(120, 'the boot test'));
    expect(failed).toEqual([]);
    expect((await inNode('systemctl', 'is-system-running')).trim()).toBe('running');
    expect((await inNode('cat', '/proc/1/comm')).trim()).toBe('systemd');
  });

  it('carries every component at its pinned version', async () => {
    for (const binary of manifest.KUBERNETES_BINARIES.filter((b) => b !== 'kubectl')) {
      expect(await inNode(binary, '--version'), binary).toContain(`Kubernetes ${manifest.KUBERNETES_VERSION}`);
    }
    expect(await inNode('kubectl', 'version', '--client')).toContain(`Client Version: ${manifest.KUBERNETES_VERSION}`);
    const etcdVersion = manifest.DEFAULT_RELEASE.etcd.replace(/^v/, '');
    expect(await inNode('etcd', '--version')).toContain(`etcd Version: ${etcdVersion}`);
    expect(await inNode('etcdctl', 'version')).toContain(`etcdctl version: ${etcdVersion}`);
    expect(await inNode('containerd', '--version')).toContain(manifest.CONTAINERD_VERSION);
    expect(await inNode('ctr', '--version')).toContain(manifest.CONTAINERD_VERSION);
    expect(await inNode('runc', '--version')).toContain(`runc version ${manifest.RUNC_VERSION.replace(/^v/, '')}`);
    expect(await inNode('crictl', '--version')).toContain(manifest.CRICTL_VERSION);
    expect(await inNode('/opt/cni/bin/bridge', '--version')).toContain(manifest.CNI_PLUGINS_VERSION);
    expect(await inNode('haproxy', '-v')).toMatch(/HAProxy version 2\.\d+/);
  });

  it('carries the pod images as compressed archives for a registry-less containerd', async () => {
    const listing = await inNode('ls', '/kc/images');
    const names = ['cloud-controller', 'coredns', 'local-path-provisioner', 'metallb-controller', 'metallb-speaker', 'metrics-server', 'pause', 'traefik'];
    // With the list of their digests, which the boot's import compares with what it imported last.
    expect(listing.split(/\s+/).filter(Boolean).sort()).toEqual(['SHA256SUMS', ...names.map((n) => `${n}.tar.zst`)]);
    expect(await inNode('sh', '-c', 'cd /kc/images && sha256sum -c SHA256SUMS')).toContain('./traefik.tar.zst: OK');
    // The tar inside is whole: zstd checks its frame checksums while tar lists the entries.
    expect(await inNode('sh', '-c', 'zstd -dcq /kc/images/pause.tar.zst | tar -t')).toContain('manifest.json');
  });

  it('runs runc with seccomp support and the run-time tools kubelet and kube-proxy need', async () => {
    expect(await inNode('runc', 'features')).toContain('"enabled": true');
    for (const tool of ['iptables', 'ipset', 'conntrack', 'socat', 'ip', 'mount', 'nsenter']) {
      const found = await engine.exec(name, ['sh', '-c', `command -v ${tool}`]);
      expect(found.exitCode, tool).toBe(0);
    }
  });
});

describe('kc build node-image', () => {
  it('rebuilds nothing on a second run, and says so', async () => {
    const result = await kc(['build', 'node-image']);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('Nothing to rebuild');
    for (const artifact of manifest.artifactsFor(manifest.DEFAULT_RELEASE)) {
      expect(result.stderr).toMatch(new RegExp(`✓ ${artifact.name} ${artifact.version} \\(cached`));
    }
  });

  it('rejects an unknown Kubernetes version with the fix, and a bad --source', async () => {
    const version = await kc(['build', 'node-image', '--kubernetes-version', 'v1.2.3']);
    expect(version.code).not.toBe(0);
    expect(version.code).toBe(2);
    expect(version.stderr).toContain(`--kubernetes-version v1.2.3 is not one kc builds node images for: use one of ${manifest.supportedVersions()}`);
    const source = await kc(['build', 'node-image', '--source', 'ftp']);
    expect(source.code).not.toBe(0);
    expect(source.stderr).toMatch(/Invalid values:[\s\S]*source[\s\S]*ftp/);
    // A tag naming another version would label the pinned binaries as it: refused before anything is built.
    const other = 'v1.36.0';
    const tagged = await kc(['build', 'node-image', '--image', `kc/node:${other}`]);
    expect(tagged.code).toBe(2);
    expect(tagged.stderr).toContain(`--image kc/node:${other} names Kubernetes ${other}, but this build is of Kubernetes ${manifest.KUBERNETES_VERSION}`);
    expect(await engine.imageLabels(`kc/node:${other}`)).toBeUndefined();
  });
});
