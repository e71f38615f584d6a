import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNIT } from '../../src/components/units.js';
import { PATHS } from '../../src/components/paths.js';
import { DockerEngine } from '../../src/provider/docker/engine.js';
import { execOrThrow } from '../../src/provider/provider.js';
import { unpackSnapshot } from '../../src/state/snapshot-archive.js';
import { kubectlFor } from './cluster-helpers.js';
import { kc, testClusterName, type CliResult } from './helpers.js';

/**
 * A cluster that ages: its etcd saved to a file and brought back, with the
 * objects made in between gone, and again after every master lost its etcd
 * data. The default shape (2 masters, 2 workers); every check a real request.
 */
const NAME = testClusterName('day2');
const CONTEXT = `kc-${NAME}`;
const MASTERS = [`${NAME}-master-0`, `${NAME}-master-1`];
const engine = new DockerEngine();
let dir: string;
let kubeconfig: string;
let kubectl: ReturnType<typeof kubectlFor>;

async function expectOk(args: string[]): Promise<CliResult> {
  const result = await kc(args);
  if (result.code !== 0) throw new Error(`kc ${args.join(' ')} exited with ${result.code}:\n${result.stderr}`);
  return result;
}

async function configMaps(): Promise<string[]> {
  const out = await kubectl(['get', 'configmaps', '-n', 'default', '-l', 'kc-e2e=day2', '-o', 'jsonpath={.items[*].metadata.name}']);
  return out.split(/\s+/).filter(Boolean).sort();
}

async function makeConfigMap(name: string): Promise<void> {
  await kubectl(['create', 'configmap', name, '-n', 'default', '--from-literal=made=yes']);
  await kubectl(['label', 'configmap', name, '-n', 'default', 'kc-e2e=day2']);
}

/** Every node Ready, and a new pod runs (the scheduler, the controllers and a kubelet work on the restored data). */
async function expectUsable(pod: string): Promise<void> {
  await kubectl(['wait', '--for=condition=Ready', 'nodes', '--all', '--timeout=120s']);
  await kubectl(['run', pod, '--image=registry.k8s.io/pause:3.10.2', '--image-pull-policy=Never', '--restart=Never']);
  await kubectl(['wait', '--for=condition=Ready', `pod/${pod}`, '--timeout=120s']);
}

describe('day-2: etcd snapshots', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kc-day2-'));
    kubeconfig = join(dir, 'kubeconfig');
    kubectl = kubectlFor(kubeconfig, CONTEXT);
    await kc(['delete', 'cluster', '--name', NAME]);
    await expectOk(['create', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
  }, 600_000);

  afterAll(async () => {
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('saves a snapshot, restores it (what came after is gone, what came before is back) and refuses to overwrite a file', async () => {
    const file = join(dir, 'before.snap');
    await makeConfigMap('before');
    const saved = await expectOk(['snapshot', 'save', file, '--name', NAME]);
    expect(saved.stderr).toMatch(/Saved cluster ".*" at etcd revision \d+ to .*before\.snap \(SHA-256 of etcd\.db [0-9a-f]{64}\)/);
    const { manifest } = await unpackSnapshot(await readFile(file), file);
    expect(manifest.cluster).toBe(NAME);

    const refused = await kc(['snapshot', 'save', file, '--name', NAME]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/before\.snap already exists/);

    await makeConfigMap('after');
    await kubectl(['delete', 'configmap', 'before', '-n', 'default']);
    expect(await configMaps()).toEqual(['after']);
    const restored = await expectOk(['snapshot', 'restore', file, '--name', NAME]);
    expect(restored.stderr).toMatch(new RegExp(`Restored cluster "${NAME}" to etcd revision ${manifest.revision}`));
    expect(await configMaps()).toEqual(['before']);
    await expectUsable('after-restore');
  }, 600_000);

  it('restores a cluster whose every master lost its etcd data', async () => {
    const file = join(dir, 'before.snap');
    try {
      for (const master of MASTERS) {
        await execOrThrow(engine, master, ['systemctl', 'stop', UNIT.apiServer, UNIT.etcd]);
        await execOrThrow(engine, master, ['rm', '-rf', `${PATHS.etcdData}/member`, `${PATHS.etcdData}/member.before-restore`]);
      }
      await expectOk(['snapshot', 'restore', file, '--name', NAME]);
    } finally {
      // Whatever happened, the next test finds every master's units running (a restore that failed restarts them too).
      for (const master of MASTERS) await engine.exec(master, ['systemctl', 'start', UNIT.etcd, UNIT.apiServer]);
    }
    expect(await configMaps()).toEqual(['before']);
    await expectUsable('after-lost-data');
  }, 600_000);

  it('refuses a damaged snapshot by its checksum, and changes nothing', async () => {
    const original = await readFile(join(dir, 'before.snap'));
    const tar = gunzipSync(original);
    // Flip one byte in the middle of etcd.db (after the manifest's tar entry).
    tar[tar.length - 2048] = (tar[tar.length - 2048] ?? 0) ^ 0xff;
    const damaged = join(dir, 'damaged.snap');
    await writeFile(damaged, gzipSync(tar));
    await makeConfigMap('kept');
    const result = await kc(['snapshot', 'restore', damaged, '--name', NAME]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/damaged\.snap is damaged: etcd\.db has SHA-256/);
    expect(await configMaps()).toEqual(['before', 'kept']);
  }, 120_000);
});
