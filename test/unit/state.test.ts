import { execFile, spawn } from 'node:child_process';
import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { deleteClusterLocked, kubeconfigPathsToClean, type DeleteEngine, type DeleteRegistries } from '../../src/cluster/ops/delete.js';
import { exportKubeconfig } from '../../src/cluster/ops/kubeconfig.js';
import { defaultClusterSpec } from '../../src/config/defaults.js';
import { planCluster } from '../../src/model/plan.js';
import type { ClusterPki } from '../../src/pki/types.js';
import {
  clusterStateFile,
  loadState,
  migrateState,
  saveState,
  STATE_SCHEMA_VERSION,
  StateFileError,
  type ClusterState,
} from '../../src/state/cluster-state.js';
import { mergeIntoKubeconfigFile } from '../../src/state/kubeconfig-file.js';
import { clusterLockPath, LockBusyError, withClusterLock } from '../../src/state/lock.js';
import { useTemporaryStateDir } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NAME = 'demo';
const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';

function stateOf(name = NAME, kubeconfigPaths: string[] = []): ClusterState {
  return {
    schemaVersion: STATE_SCHEMA_VERSION,
    plan: planCluster(defaultClusterSpec({ name }), '172.30.9.0/24'),
    pki: { ca: { certPem: CERT, keyPem: KEY }, admin: { certPem: CERT, keyPem: KEY } } as unknown as ClusterPki,
    apiServerHostPort: 40123,
    kubeconfigPaths,
    createdAt: '2026-01-02T03:04:05.000Z',
  };
}

/** What kc 0.1 wrote: no schemaVersion, one kubeconfigPath. */
function versionOneState(name = NAME): Record<string, unknown> {
  const { schemaVersion: _version, kubeconfigPaths: _paths, ...rest } = stateOf(name);
  return { ...rest, kubeconfigPath: '/home/u/.kube/config' };
}

const temporary = useTemporaryStateDir('kc-state-');

describe('the state schema', () => {
  it('migrates what kc 0.1 wrote (no version): its one kubeconfig path becomes the list', () => {
    const migrated = migrateState(versionOneState(), 'f.json', NAME);
    expect(migrated.schemaVersion).toBe(STATE_SCHEMA_VERSION);
    expect(migrated.kubeconfigPaths).toEqual(['/home/u/.kube/config']);
    expect('kubeconfigPath' in migrated).toBe(false);
    const { kubeconfigPath: _path, ...withoutPath } = versionOneState();
    expect(migrateState(withoutPath, 'f.json', NAME).kubeconfigPaths).toEqual([]);
  });

  it('migrates schema 2: an upgrade stopped at a node becomes the journal\'s replace move of that node, from its first step', () => {
    const current = stateOf();
    const { journal: _none, ...v2 } = {
      ...JSON.parse(JSON.stringify(current)),
      schemaVersion: 2,
      operation: { kind: 'upgrade', startedAt: '2026-03-04T05:06:07.000Z', from: 'v1.36.3', to: 'v1.37.2', done: ['demo-master-0'], current: 'demo-master-1' },
    } as Record<string, unknown>;
    const migrated = migrateState(v2, 'f.json', NAME);
    expect(migrated.schemaVersion).toBe(3);
    expect(migrated.operation).toEqual({ kind: 'upgrade', startedAt: '2026-03-04T05:06:07.000Z', from: 'v1.36.3', to: 'v1.37.2', done: ['demo-master-0'] });
    expect(migrated.journal).toEqual({
      command: 'kc upgrade cluster --kubernetes-version v1.37.2 --name demo',
      startedAt: '2026-03-04T05:06:07.000Z',
      move: { kind: 'replace', node: current.plan.masters[1], image: 'kc/node:v1.37.2', kubernetesVersion: 'v1.37.2', step: 0, stepDone: false },
    });
    // A schema-2 state without an upgrade under way only changes its version.
    expect(migrateState({ ...JSON.parse(JSON.stringify(current)), schemaVersion: 2 }, 'f.json', NAME)).toEqual(current);
  });

  it('keeps the release out of the file and resolves it from the version when it reads it', async () => {
    await saveState(stateOf());
    const written = JSON.parse(await readFile(clusterStateFile(NAME), 'utf8')) as { plan: Record<string, unknown> };
    expect('release' in written.plan).toBe(false);
    expect((await loadState(NAME))?.plan.release).toEqual(stateOf().plan.release);
    expect(stateOf().plan.release.kubernetes).toBe(stateOf().plan.spec.kubernetesVersion);
  });

  it('keeps a current state as it is', () => {
    const state = stateOf(NAME, ['/a', '/b']);
    expect(migrateState(JSON.parse(JSON.stringify(state)), 'f.json', NAME)).toEqual(state);
  });

  it('refuses, naming the file and the way out, what it cannot use', () => {
    const cases: [unknown, RegExp][] = [
      [[], /is not a JSON object/],
      [{ ...stateOf(), schemaVersion: 99 }, /was written by a newer kc \(schema 99; this kc reads up to 3\)/],
      [{ ...stateOf(), schemaVersion: 'two' }, /has an invalid schemaVersion "two"/],
      [{ ...stateOf(), plan: undefined }, /has no plan for this cluster/],
      [{ ...stateOf('other') }, /has no plan for this cluster/],
      [{ ...stateOf(), pki: {} }, /has no certificate authority/],
      [{ ...stateOf(), kubeconfigPaths: [3] }, /has no valid kubeconfigPaths list/],
      [{ ...stateOf(), journal: { command: 'kc x', startedAt: 'now', move: { kind: 'teleport', step: 0, stepDone: false } } }, /has a journal kc does not know/],
      [{ ...stateOf(), deleting: 7 }, /has a deleting mark that is not a time/],
      [{ ...stateOf(), plan: { ...stateOf().plan, spec: { ...stateOf().plan.spec, kubernetesVersion: 'v1.99.0' } } }, /runs Kubernetes v1\.99\.0, which this kc does not know .*use the kc that made the cluster/],
    ];
    for (const [raw, problem] of cases) {
      const attempt = () => migrateState(raw, '/x/cluster.json', NAME);
      expect(attempt, problem.source).toThrow(StateFileError);
      expect(attempt, problem.source).toThrow(problem);
      expect(attempt, problem.source).toThrow(/\/x\/cluster\.json .*`kc delete cluster --name demo`/);
    }
  });
});

describe('the state file', () => {
  it('is written with mode 0600 in a 0700 folder, and read back the same', async () => {
    await saveState(stateOf());
    const file = clusterStateFile(NAME);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(file, '..'))).mode & 0o777).toBe(0o700);
    expect(await loadState(NAME)).toEqual(stateOf());
  });

  it('is replaced, never rewritten in place: a reader sees the old file or the new one', async () => {
    await saveState(stateOf());
    const before = await stat(clusterStateFile(NAME));
    await saveState(stateOf(NAME, ['/a']));
    const after = await stat(clusterStateFile(NAME));
    expect(after.ino).not.toBe(before.ino);
    expect(await readdir(join(clusterStateFile(NAME), '..'))).toEqual(['cluster.json']);
  });

  it('is absent (undefined) when kc has no state for the cluster', async () => {
    expect(await loadState('nothing-here')).toBeUndefined();
  });

  it('loads what kc 0.1 wrote', async () => {
    await mkdir(join(clusterStateFile(NAME), '..'), { recursive: true });
    await writeFile(clusterStateFile(NAME), JSON.stringify(versionOneState()));
    expect((await loadState(NAME))?.kubeconfigPaths).toEqual(['/home/u/.kube/config']);
  });

  it('is a clear error when corrupted, naming the file and how to recover', async () => {
    await saveState(stateOf());
    const text = await readFile(clusterStateFile(NAME), 'utf8');
    await writeFile(clusterStateFile(NAME), text.slice(0, text.length / 2));
    const load = loadState(NAME);
    await expect(load).rejects.toBeInstanceOf(StateFileError);
    await expect(load).rejects.toThrow(`kc's state of cluster "demo" in ${clusterStateFile(NAME)} is not valid JSON`);
    await expect(load).rejects.toThrow('`kc delete cluster --name demo` removes the cluster');
  });
});

/** An engine with no resources at all: delete finds nothing to remove there. */
const emptyEngine: DeleteEngine = {
  listNodes: async () => [],
  removeNode: async () => undefined,
  listVolumes: async () => [],
  removeVolume: async () => undefined,
  listNetworks: async () => [],
  removeNetwork: async () => undefined,
};

/** The engine kc runs on, with no registry. */
const noRegistries: DeleteRegistries = {
  listRegistries: async () => [],
  registryState: async () => undefined,
  detachRegistry: async () => undefined,
  removeRegistry: async () => undefined,
};

describe('kubeconfig files of a cluster', () => {
  it('records every file the context was exported to, and delete cleans them all', async () => {
    const first = join(temporary.dir, 'one', 'config');
    const second = join(temporary.dir, 'two', 'config');
    await saveState(stateOf(NAME, [first]));
    await exportKubeconfig(NAME, first);
    await exportKubeconfig(NAME, second);
    await exportKubeconfig(NAME, second);
    expect((await loadState(NAME))?.kubeconfigPaths).toEqual([first, second]);
    for (const file of [first, second]) {
      expect(await readFile(file, 'utf8')).toContain('kc-demo');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
    }
    const result = await deleteClusterLocked({ engine: emptyEngine, registries: noRegistries, name: NAME });
    expect(result.kubeconfigEntry).toBe(true);
    for (const file of [first, second]) expect(await readFile(file, 'utf8')).not.toContain('kc-demo');
    expect(await loadState(NAME)).toBeUndefined();
  });

  it('cleans the recorded files and the named one; the default file only when nothing else is known', () => {
    expect(kubeconfigPathsToClean(stateOf(NAME, ['/a', '/b']), '/b')).toEqual(['/a', '/b']);
    expect(kubeconfigPathsToClean(stateOf(NAME, ['/a']), '/c')).toEqual(['/a', '/c']);
    expect(kubeconfigPathsToClean(undefined, '/c')).toEqual(['/c']);
    expect(kubeconfigPathsToClean(undefined, undefined)).toHaveLength(1);
  });

  it('deletes a cluster whose state file is corrupted, and says so', async () => {
    await saveState(stateOf());
    await writeFile(clusterStateFile(NAME), '{"plan": ');
    const result = await deleteClusterLocked({ engine: emptyEngine, registries: noRegistries, name: NAME, kubeconfigPath: join(temporary.dir, 'config') });
    expect(result.state).toBe(true);
    expect(result.warnings).toEqual([`${clusterStateFile(NAME)} could not be read; removed it with the cluster`]);
    await expect(stat(clusterStateFile(NAME))).rejects.toThrow();
  });
});

describe('the cluster lock', () => {
  it('lets one kc work on a cluster at a time; the other is told why and what to do', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = withClusterLock(NAME, () => held);
    await expect.poll(() => stat(`${clusterLockPath(NAME)}.lock`).then(() => true, () => false)).toBe(true);
    const second = withClusterLock(NAME, async () => 'ran', 300);
    await expect(second).rejects.toBeInstanceOf(LockBusyError);
    await expect(second).rejects.toThrow(`another kc command is changing cluster "${NAME}" right now`);
    release();
    await first;
    expect(await withClusterLock(NAME, async () => 'ran')).toBe('ran');
  });

  it('serializes two changes of one cluster that wait for each other', async () => {
    const events: string[] = [];
    const change = (who: string) => async () => {
      events.push(`${who} start`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      events.push(`${who} end`);
    };
    await Promise.all([withClusterLock(NAME, change('a'), 5_000), withClusterLock(NAME, change('b'), 5_000)]);
    expect([events.slice(0, 2), events.slice(2)].map((pair) => pair.map((e) => e.split(' ')[1]))).toEqual([['start', 'end'], ['start', 'end']]);
  });

  it('takes over the lock of a kc that died holding it, once stale', async () => {
    const lock = `${clusterLockPath(NAME)}.lock`;
    await mkdir(lock, { recursive: true });
    const longAgo = new Date(Date.now() - 120_000);
    await utimes(lock, longAgo, longAgo);
    expect(await withClusterLock(NAME, async () => 'ran', 300)).toBe('ran');
  });
});

describe('two kc processes merging into one kubeconfig file at the same moment', () => {
  const distDir = join(ROOT, 'node_modules', '.cache', 'kc-state-test');

  beforeAll(async () => {
    // Child processes run the real module compiled (Node runs no TypeScript); under node_modules so its imports resolve.
    await promisify(execFile)(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(ROOT, 'tsconfig.json'), '--outDir', distDir]);
  }, 120_000);

  /** Starts a process that waits for `startAt` (ms since epoch), then merges one context. */
  function mergeInChild(file: string, context: string, startAt: number): Promise<number> {
    const module = join(distDir, 'src', 'state', 'kubeconfig-file.js');
    const script = `
      const { mergeIntoKubeconfigFile } = await import(${JSON.stringify(module)});
      while (Date.now() < ${startAt}) {}
      await mergeIntoKubeconfigFile(${JSON.stringify(file)}, {
        contextName: ${JSON.stringify(context)}, clusterName: ${JSON.stringify(context)}, userName: ${JSON.stringify(context)},
        server: 'https://127.0.0.1:6443', caPem: 'ca', certPem: 'cert', keyPem: 'key',
      });`;
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'inherit', 'inherit'] });
      child.on('error', reject);
      child.on('exit', (code) => resolve(code ?? -1));
    });
  }

  it('keeps both contexts, 5 times in a row', async () => {
    for (let round = 1; round <= 5; round++) {
      const file = join(temporary.dir, `round-${round}`, 'config');
      await mergeIntoKubeconfigFile(file, { contextName: 'existing', clusterName: 'existing', userName: 'existing', server: 'https://e', caPem: 'c', certPem: 'c', keyPem: 'k' });
      const startAt = Date.now() + 1500;
      const codes = await Promise.all([mergeInChild(file, 'kc-a', startAt), mergeInChild(file, 'kc-b', startAt)]);
      expect(codes, `round ${round}`).toEqual([0, 0]);
      const config = parse(await readFile(file, 'utf8')) as { contexts: { name: string }[] };
      expect(config.contexts.map((c) => c.name).sort(), `round ${round}`).toEqual(['existing', 'kc-a', 'kc-b']);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
    }
  }, 120_000);
});
