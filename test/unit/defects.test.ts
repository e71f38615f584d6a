import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { addNodes } from '../../src/cluster/lifecycle/add-node.js';
import { removeNodes } from '../../src/cluster/lifecycle/remove-node.js';
import { rotateCertificates } from '../../src/cluster/lifecycle/rotate-certificates.js';
import { restoreSnapshot, saveSnapshot } from '../../src/cluster/lifecycle/snapshot.js';
import { startCluster, stopCluster } from '../../src/cluster/lifecycle/stop-start.js';
import { upgradeCluster } from '../../src/cluster/lifecycle/upgrade.js';
import { deleteCluster } from '../../src/cluster/ops/delete.js';
import { listClusters } from '../../src/cluster/ops/list.js';
import { ETCD_SNAPSHOT_ON_NODE } from '../../src/components/etcd.js';
import { resolveClusterSpec } from '../../src/config/resolve.js';
import { defaultClusterSpec, DEFAULT_NODE_IMAGE, nodeImageFor } from '../../src/config/defaults.js';
import type { ClusterSpec } from '../../src/config/types.js';
import { LABEL_KUBERNETES_VERSION } from '../../src/image/node-image.js';
import { FakeEngine } from '../../src/provider/fake/engine.js';
import { MultiEngine } from '../../src/provider/multi/router.js';
import type { ExecResult } from '../../src/provider/provider.js';
import { clusterStateFile, loadState } from '../../src/state/cluster-state.js';
import { silentProgress } from '../../src/util/progress.js';
import { createFakeCluster, failed, healthyApi, healthyCluster, ok, recordedCluster, runningWorkers, type RecordedCluster } from './fake-cluster.js';
import { useTemporaryStateDir } from './helpers.js';

/**
 * One test for each defect that issue 31 found in kc at a2dc61d, each of
 * which failed there. They drive the commands as the other unit tests do,
 * on the fake engine.
 */
const temporary = useTemporaryStateDir('kc-defects-');
const kubeconfig = () => join(temporary.dir, 'kubeconfig');
const spec = (controlPlanes = 2, workers = 1, name = 'life', overrides: Partial<ClusterSpec> = {}) =>
  defaultClusterSpec({ name, controlPlanes, workers, waitSeconds: 5, ...overrides });

async function fakeCluster(clusterSpec = spec()): Promise<{ engine: FakeEngine } & RecordedCluster> {
  const engine = new FakeEngine({ images: [DEFAULT_NODE_IMAGE] });
  return { ...(await recordedCluster(engine, clusterSpec, kubeconfig())), engine };
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
const apiOf = (engine: FakeEngine, clusterSpec: ClusterSpec) => healthyApi(clusterSpec, runningWorkers(clusterSpec.name, engine));

describe('defect 1: a restore whose start fails is taken back with etcd stopped first', () => {
  it('stops the API servers and etcd on every master before it puts their data back', async () => {
    const engine = new FakeEngine({ images: [DEFAULT_NODE_IMAGE] });
    const snapSpec = spec(3, 1, 'snap');
    const commands: string[] = [];
    let failOnce = true;
    const healthy = healthyCluster();
    engine.onExec = (node, command) => {
      const line = command.join(' ');
      commands.push(`${node.spec.name}: ${line}`);
      if (line.includes(`snapshot save ${ETCD_SNAPSHOT_ON_NODE}`)) node.files.set(ETCD_SNAPSHOT_ON_NODE, { path: ETCD_SNAPSHOT_ON_NODE, content: 'db' });
      if (line.startsWith('etcdutl snapshot status')) return ok('{"revision":7,"totalKey":3}');
      if (node.spec.name === 'snap-master-1' && line.startsWith('systemctl start kube-apiserver') && failOnce) {
        failOnce = false;
        return failed('Job for kube-apiserver.service failed');
      }
      return healthy(node, command);
    };
    await createFakeCluster(engine, snapSpec, kubeconfig());
    const file = join(temporary.dir, 'one.snap');
    await saveSnapshot({ engine, progress: silentProgress, cluster: 'snap', file });
    commands.length = 0;
    const error = await restoreSnapshot({ engine, registries: engine, progress: silentProgress, cluster: 'snap', file, fromOtherCluster: false, waitSeconds: 5, apiProbe: healthyApi(snapSpec) } as Parameters<typeof restoreSnapshot>[0]).catch((e: unknown) => e);
    expect(messageOf(error)).toMatch(/Starting etcd and the API servers failed: [\s\S]*kube-apiserver.service failed/);
    const failedAt = commands.indexOf('snap-master-1: systemctl start kube-apiserver.service kube-controller-manager.service kube-scheduler.service');
    expect(failedAt).toBeGreaterThan(0);
    const after = commands.slice(failedAt);
    for (const master of ['snap-master-0', 'snap-master-1', 'snap-master-2']) {
      const putBack = after.findIndex((c) => c.startsWith(`${master}: /bin/sh -c`) && c.includes('rm -rf /var/lib/etcd/member && mv /var/lib/etcd/member.before-restore /var/lib/etcd/member'));
      expect(putBack, `${master}'s data put back`).toBeGreaterThan(0);
      // etcd serves from its data files: they change only under a stopped etcd, and the API server before it.
      const etcdStopped = after.indexOf(`${master}: systemctl stop etcd.service`);
      const apiStopped = after.indexOf(`${master}: systemctl stop kube-apiserver.service kube-controller-manager.service kube-scheduler.service`);
      expect(etcdStopped, `${master}'s etcd stopped after the failed start`).toBeGreaterThan(0);
      expect(etcdStopped).toBeLessThan(putBack);
      expect(apiStopped).toBeLessThan(etcdStopped);
      expect(after.lastIndexOf(`${master}: systemctl start etcd.service`)).toBeGreaterThan(putBack);
    }
  }, 30_000);
});

describe('defect 2: a failed restore is taken back only once every master has finished', () => {
  it("waits for a master's restore still running before it puts any data back", async () => {
    const engine = new FakeEngine({ images: [DEFAULT_NODE_IMAGE] });
    const snapSpec = spec(3, 1, 'snap');
    const events: string[] = [];
    let masterTwoFailed: () => void = () => undefined;
    const failure = new Promise<void>((resolve) => (masterTwoFailed = resolve));
    const healthy = healthyCluster();
    engine.onExec = async (node, command): Promise<ExecResult> => {
      const line = command.join(' ');
      const name = node.spec.name;
      if (line.includes(`snapshot save ${ETCD_SNAPSHOT_ON_NODE}`)) node.files.set(ETCD_SNAPSHOT_ON_NODE, { path: ETCD_SNAPSHOT_ON_NODE, content: 'db' });
      if (line.startsWith('etcdutl snapshot status')) return ok('{"revision":7,"totalKey":3}');
      if (line.includes('etcdutl snapshot restore')) {
        if (name === 'snap-master-2') {
          masterTwoFailed();
          return failed('Error: no space left on device');
        }
        // master-0's restore is slow: it is still moving its data when master-2's fails.
        if (name === 'snap-master-0') {
          await failure;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        events.push(`${name} restored`);
        return ok();
      }
      if (line.includes('mv /var/lib/etcd/member.before-restore /var/lib/etcd/member')) events.push(`${name} put back`);
      return healthy(node, command);
    };
    await createFakeCluster(engine, snapSpec, kubeconfig());
    const file = join(temporary.dir, 'two.snap');
    await saveSnapshot({ engine, progress: silentProgress, cluster: 'snap', file });
    const error = await restoreSnapshot({ engine, progress: silentProgress, cluster: 'snap', file, fromOtherCluster: false, waitSeconds: 5, apiProbe: healthyApi(snapSpec) }).catch((e: unknown) => e);
    expect(messageOf(error)).toMatch(/no space left on device/);
    expect(events).toContain('snap-master-0 restored');
    expect(events.indexOf('snap-master-0 restored'), events.join(', ')).toBeLessThan(events.indexOf('snap-master-0 put back'));
  }, 30_000);
});

describe('defect 3: a state file kc cannot read does not keep a cluster alive', () => {
  it('deletes the cluster, its registry attachment and its network', async () => {
    const engine = new FakeEngine({ images: [DEFAULT_NODE_IMAGE] });
    engine.onExec = healthyCluster();
    await createFakeCluster(engine, spec(1, 1, 'broken'), kubeconfig());
    expect([...engine.registries.values()][0]?.networks.has('kc-broken')).toBe(true);
    await writeFile(clusterStateFile('broken'), '{"plan": ');
    const result = await deleteCluster({ engine, registries: engine, name: 'broken', kubeconfigPath: kubeconfig() });
    expect(result.warnings[0]).toMatch(/could not be read; removed it with the cluster/);
    expect(engine.networks.size, [...engine.networks.keys()].join(', ')).toBe(0);
    expect(engine.isEmpty()).toBe(true);
  }, 30_000);
});

describe('defect 4: a message names what changed and what did not', () => {
  it('kc delete node: the first node was removed, the second not, and says how to remove it', async () => {
    const { engine, script } = await fakeCluster(spec(2, 3));
    script((_node, line) => (line.includes(' drain life-worker-2 ') ? failed('Cannot evict pod as it would violate the pod\'s disruption budget') : undefined));
    const error = await removeNodes({ engine, progress: silentProgress, cluster: 'life', nodes: ['life-worker-1', 'life-worker-2'], waitSeconds: 5, force: false }).catch((e: unknown) => e);
    const message = messageOf(error);
    expect(message).toMatch(/Draining life-worker-2 failed: [\s\S]*disruption budget/);
    expect(message).not.toContain('the cluster is as it was');
    expect(message).toMatch(/life-worker-1 was removed; life-worker-2 was not removed/);
    expect(message).toContain('`kc delete node life-worker-2 --name life`');
    expect((await loadState('life'))?.plan.workers.map((w) => w.name)).toEqual(['life-worker-0', 'life-worker-2']);
  }, 30_000);

  it('kc delete node: a worker whose container is gone is not said to be as it was', async () => {
    const { engine, script } = await fakeCluster(spec(2, 2));
    script((node, line) => (node === 'life-lb' && line === 'systemctl restart kc-pod-network.service' ? failed('lb refused') : undefined));
    const error = await removeNodes({ engine, progress: silentProgress, cluster: 'life', nodes: ['life-worker-1'], waitSeconds: 5, force: false }).catch((e: unknown) => e);
    const message = messageOf(error);
    expect(message).toMatch(/Updating pod routes failed: [\s\S]*lb refused/);
    expect(message).not.toContain('as it was');
    expect(message).toMatch(/life-worker-1 is part-way removed/);
    expect(message).toContain('`kc delete node life-worker-1 --name life`');
    expect(engine.nodes.has('life-worker-1')).toBe(false);
    // Run again as the message says: the removal is finished.
    script(() => undefined);
    expect(await removeNodes({ engine, progress: silentProgress, cluster: 'life', nodes: ['life-worker-1'], waitSeconds: 5, force: false })).toEqual(['life-worker-1']);
    expect((await loadState('life'))?.plan.workers.map((w) => w.name)).toEqual(['life-worker-0']);
  }, 30_000);

  it('kc create node --count 2: the first node was added, the second not, and says how to add it', async () => {
    const { engine, script } = await fakeCluster();
    script((_node, line) => (line.includes('patch node life-worker-2 ') ? failed('nodes "life-worker-2" is forbidden') : undefined));
    const error = await addNodes({ engine, progress: silentProgress, cluster: 'life', role: 'worker', count: 2, waitSeconds: 5, apiProbe: apiOf(engine, spec()) }).catch((e: unknown) => e);
    const message = messageOf(error);
    expect(message).toMatch(/Joining life-worker-2 failed: [\s\S]*forbidden/);
    expect(message).not.toContain('the cluster is as it was');
    expect(message).toMatch(/life-worker-1 was added; life-worker-2 was not added/);
    expect(message).toContain('`kc create node --role worker --name life`');
    expect((await loadState('life'))?.plan.workers.map((w) => w.name)).toEqual(['life-worker-0', 'life-worker-1']);
    expect(engine.nodes.has('life-worker-2')).toBe(false);
  }, 30_000);
});

describe('defect 5: Ctrl-C in kc create node leaves a record the next command settles', () => {
  it('stops at a safe point with the move journaled; kc delete node then takes the half-added master back', async () => {
    const { engine, script, controlPlane } = await fakeCluster();
    const interrupt = new AbortController();
    script((_node, line) => {
      if (line.includes(' member add life-master-2 ')) interrupt.abort();
      return undefined;
    });
    const options = { engine, progress: silentProgress, cluster: 'life', role: 'master' as const, count: 1, waitSeconds: 5, apiProbe: apiOf(engine, spec()), signal: interrupt.signal };
    const stopped = await addNodes(options).then(
      () => 'completed',
      (error: unknown) => messageOf(error),
    );
    expect(stopped).toMatch(/^Interrupted \(Ctrl-C\) during "Adding life-master-2 to etcd"/);
    expect((await loadState('life'))?.journal?.move).toMatchObject({ kind: 'join', node: { name: 'life-master-2' } });
    expect(controlPlane.membership).toContain('life-master-2 (learner)');
    script(() => undefined);
    const removed = await removeNodes({ engine, progress: silentProgress, cluster: 'life', nodes: ['life-master-2'], waitSeconds: 5, force: false });
    expect(removed).toEqual(['life-master-2']);
    expect(controlPlane.membership).toEqual(['life-master-0', 'life-master-1']);
    expect(engine.nodes.has('life-master-2')).toBe(false);
    const state = await loadState('life');
    expect(state?.journal).toBeUndefined();
    expect(state?.plan.masters.map((m) => m.name)).toEqual(['life-master-0', 'life-master-1']);
  }, 30_000);
});

const FROM = 'v1.36.3';
const TO = 'v1.37.2';

async function oldReleaseCluster(clusterSpec: ClusterSpec): Promise<{ engine: FakeEngine } & RecordedCluster> {
  const engine = new FakeEngine();
  engine.images.set(nodeImageFor(FROM), { [LABEL_KUBERNETES_VERSION]: FROM });
  engine.images.set(nodeImageFor(TO), { [LABEL_KUBERNETES_VERSION]: TO });
  return { ...(await recordedCluster(engine, clusterSpec, kubeconfig())), engine };
}

const upSpec = (overrides: Partial<ClusterSpec> = {}) => spec(2, 2, 'up', { kubernetesVersion: FROM, nodeImage: nodeImageFor(FROM), ...overrides });
const upgrade = (engine: FakeEngine, clusterSpec: ClusterSpec) =>
  upgradeCluster({ engine, progress: silentProgress, cluster: 'up', kubernetesVersion: TO, waitSeconds: 5, apiProbe: healthyApi(clusterSpec) });

describe('defect 6: a cluster stopped in the middle of an upgrade starts, and the upgrade continues', () => {
  it('starts with the node being replaced (its container gone), finishes it, and kc upgrade cluster completes', async () => {
    const { engine } = await oldReleaseCluster(upSpec());
    engine.failOn({ method: 'createNode', when: (name) => name === 'up-worker-0', error: new Error('no space left on device') });
    await expect(upgrade(engine, upSpec())).rejects.toThrow(/Replacing up-worker-0 failed: no space left on device/);
    engine.clearFailures();
    expect(engine.nodes.has('up-worker-0')).toBe(false);
    await stopCluster({ engine, progress: silentProgress, cluster: 'up', waitSeconds: 5 });
    await startCluster({ engine, registries: engine, progress: silentProgress, cluster: 'up', waitSeconds: 5, apiProbe: healthyApi(upSpec()) });
    expect(engine.nodes.get('up-worker-0')?.spec.image).toBe(nodeImageFor(TO));
    expect(await upgrade(engine, upSpec())).toMatchObject({ from: FROM, to: TO, alreadyThere: false });
    const state = await loadState('up');
    expect(state?.plan.spec.kubernetesVersion).toBe(TO);
    expect(state?.operation).toBeUndefined();
    for (const node of ['up-master-0', 'up-master-1', 'up-worker-0', 'up-worker-1']) expect(engine.nodes.get(node)?.spec.image, node).toBe(nodeImageFor(TO));
  }, 60_000);
});

describe('defect 7: an upgrade keeps every published host port', () => {
  it("gives a worker's replaced container the host port its old one had for a mapping of port 0", async () => {
    const none = { extraPortMappings: [], extraMounts: [] };
    const published = { extraPortMappings: [{ containerPort: 30080, hostPort: 0, listenAddress: '127.0.0.1', protocol: 'TCP' as const }], extraMounts: [] };
    const clusterSpec = upSpec({ nodeExtras: { masters: [], workers: [published, none] } });
    const { engine } = await oldReleaseCluster(clusterSpec);
    const before = engine.nodes.get('up-worker-0')?.spec.ports.find((p) => p.containerPort === 30080)?.hostPort;
    expect(before).toBeGreaterThan(0);
    await upgrade(engine, clusterSpec);
    expect(engine.nodes.get('up-worker-0')?.spec.image).toBe(nodeImageFor(TO));
    expect(engine.nodes.get('up-worker-0')?.spec.ports.find((p) => p.containerPort === 30080)?.hostPort).toBe(before);
  }, 60_000);
});

/** lb, one master and worker-0 on the local engine; worker slot 1 on e2 (the cluster starts with worker-0 only). */
function acrossEngines(name: string, workers = 1): ClusterSpec {
  const none = { extraPortMappings: [], extraMounts: [] };
  return spec(1, workers, name, { engines: [{ name: 'e2', host: 'tcp://10.9.0.2:2375' }], nodeExtras: { masters: [none], workers: [none, { ...none, engine: 'e2' }] } });
}

let nextSwarmAddress = 1;

function twoEngines(): { local: FakeEngine; remote: FakeEngine; multi: MultiEngine } {
  const local = new FakeEngine({ images: [DEFAULT_NODE_IMAGE] });
  const remote = new FakeEngine();
  local.onExec = healthyCluster();
  remote.onExec = healthyCluster();
  const address = `10.8.31.${nextSwarmAddress++}`;
  const multi = new MultiEngine({ local, remotes: [{ name: 'e2', host: 'tcp://10.9.0.2:2375', provider: remote, advertiseAddress: '10.9.0.2' }], localAddress: async () => address, pause: async () => undefined });
  return { local, remote, multi };
}

describe('defect 8: kc create node keeps the engine of its slot; MetalLB is off across engines unless asked for', () => {
  it('adds a worker into slot 1 on the engine the config placed that slot on', async () => {
    const { local, remote, multi } = twoEngines();
    const wide = acrossEngines('wide');
    await createFakeCluster(multi, wide, kubeconfig(), { span: multi.span, registries: local });
    expect([...remote.nodes.keys()]).toEqual([]);
    await addNodes({ engine: multi, progress: silentProgress, cluster: 'wide', role: 'worker', count: 1, waitSeconds: 5, apiProbe: healthyApi(wide, () => ['wide-worker-0', 'wide-worker-1']) });
    expect([...remote.nodes.keys()]).toEqual(['wide-worker-1']);
    expect(local.nodes.has('wide-worker-1')).toBe(false);
    expect((await loadState('wide'))?.plan.workers.find((w) => w.name === 'wide-worker-1')?.engine).toBe('e2');
  }, 60_000);

  it('leaves the load-balancer add-on out of a cluster across engines unless the config asks for it', () => {
    const none = { extraPortMappings: [], extraMounts: [] };
    const wide = { engines: [{ name: 'e2', host: 'tcp://10.9.0.2:2375' }], nodeExtras: { masters: [none], workers: [{ ...none, engine: 'e2' }] } };
    expect(resolveClusterSpec(undefined, wide).addons.loadBalancer).toBe(false);
    expect(resolveClusterSpec(undefined, { ...wide, addons: { loadBalancer: true } }).addons.loadBalancer).toBe(true);
    expect(resolveClusterSpec(undefined, {}).addons.loadBalancer).toBe(true);
  });
});

describe('defect 9: a rotation resumed after a crash updates the kubeconfig files', () => {
  it('merges the recorded certificates into the kubeconfig file when it continues', async () => {
    const { engine, script } = await fakeCluster(spec(2, 1, 'rot'));
    const before = await readFile(kubeconfig(), 'utf8');
    script((node, line) => (node === 'rot-worker-0' && line.startsWith('systemctl restart kubelet') ? failed('Job for kubelet.service failed') : undefined));
    const rotate = () => rotateCertificates({ engine, progress: silentProgress, cluster: 'rot', ca: false, waitSeconds: 5, apiProbe: healthyApi(spec(2, 1, 'rot')) });
    await expect(rotate()).rejects.toThrow(/kubelet.service failed/);
    // kc stopped between recording the new certificates and writing the kubeconfig file.
    await writeFile(kubeconfig(), before);
    script(() => undefined);
    await rotate();
    const admin = (await loadState('rot'))?.pki.admin.certPem ?? '';
    expect(await readFile(kubeconfig(), 'utf8')).toContain(Buffer.from(admin).toString('base64'));
  }, 30_000);
});

describe('defect 10: kc get clusters lists what it can when one engine is down', () => {
  it('names the engine that does not answer, its nodes unknown, and lists the other clusters', async () => {
    const { local, remote, multi } = twoEngines();
    await createFakeCluster(multi, acrossEngines('wide', 2), kubeconfig(), { span: multi.span, registries: local });
    await createFakeCluster(local, spec(1, 1, 'solo'), kubeconfig());
    remote.failOn({ method: 'listNodes', error: new Error('cannot reach engine "e2" at tcp://10.9.0.2:2375: connection refused') });
    const clusters = await listClusters(local, async (name) => (name === 'wide' ? multi : local));
    expect(clusters.map((c) => c.name)).toEqual(['solo', 'wide']);
    expect(clusters.find((c) => c.name === 'solo')).toMatchObject({ status: 'running', nodes: 3 });
    expect(clusters.find((c) => c.name === 'wide')).toMatchObject({
      status: 'unknown',
      nodes: 4,
      unreachable: [{ engine: 'e2', nodes: ['wide-worker-1'], problem: expect.stringContaining('connection refused') }],
    });
  }, 60_000);
});

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('defect 11: parallel work on nodes waits for every sibling and reports every failure', () => {
  it('kc stop cluster: a failure is told once every other stop is done, with every failure', async () => {
    const { engine } = await fakeCluster(spec(2, 2));
    let slowStopDone = 0;
    engine.failOn({ method: 'stopNode', when: (name) => name === 'life-worker-0', error: new Error('life-worker-0: device busy') });
    engine.failOn({ method: 'stopNode', when: (name) => name === 'life-worker-1', error: new Error('life-worker-1: timed out') });
    const slowStop = () =>
      new Promise<void>((resolve) =>
        setTimeout(() => {
          slowStopDone = Date.now();
          resolve();
        }, 300),
      );
    engine.delayOn({ method: 'stopNode', when: (name) => name === 'life-worker-1', until: slowStop });
    const error = await stopCluster({ engine, progress: silentProgress, cluster: 'life', waitSeconds: 5 }).catch((e: unknown) => e);
    const toldAt = Date.now();
    expect(slowStopDone, 'the slow stop had ended when the failure was told').toBeGreaterThan(0);
    expect(slowStopDone).toBeLessThanOrEqual(toldAt);
    expect(messageOf(error)).toContain('life-worker-0: device busy');
    expect(messageOf(error)).toContain('life-worker-1: timed out');
  }, 30_000);

  it('the lint check refuses Promise.all where nodes change, and accepts concurrently()', async () => {
    const configs = (await import(`${ROOT}eslint.config.js`)) as { default: Array<{ files?: string[]; rules?: ESLint.ConfigData['rules'] }> };
    const rule = configs.default.find((c) => c.rules?.['no-restricted-syntax'] !== undefined);
    expect(rule?.files).toContain('src/cluster/**/*.ts');
    const eslint = new ESLint({ cwd: ROOT, overrideConfigFile: true, overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser }, rules: rule?.rules ?? {} }] });
    const code = (call: string) => `export async function stopAll(nodes: string[], stop: (n: string) => Promise<void>) {\n  await ${call};\n}\n`;
    const [raw] = await eslint.lintText(code('Promise.all(nodes.map(stop))'), { filePath: `${ROOT}src/cluster/ops/example.ts` });
    expect(raw?.messages.map((m) => m.message).join('\n')).toMatch(/concurrently\(\) or awaitAll\(\)/);
    const [settled] = await eslint.lintText(code('Promise.allSettled(nodes.map(stop))'), { filePath: `${ROOT}src/cluster/lifecycle/example.ts` });
    expect(settled?.messages).toHaveLength(1);
    const [helper] = await eslint.lintText(code('concurrently(nodes, stop)'), { filePath: `${ROOT}src/cluster/ops/example.ts` });
    expect(helper?.messages).toEqual([]);
  }, 30_000);
});

