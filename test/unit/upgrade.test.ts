import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { upgradeCluster, upgradeStepProblem } from '../../src/cluster/lifecycle/upgrade.js';
import { containerdVolume } from '../../src/cluster/node/container.js';
import { defaultClusterSpec, nodeImageFor } from '../../src/config/defaults.js';
import { LABEL_KUBERNETES_VERSION } from '../../src/image/node-image.js';
import { FakeEngine } from '../../src/provider/fake/engine.js';
import { loadState } from '../../src/state/cluster-state.js';
import { UsageError } from '../../src/util/errors.js';
import { silentProgress } from '../../src/util/progress.js';
import { failed, healthyApi, recordedCluster, type RecordedCluster } from './fake-cluster.js';
import { useTemporaryStateDir } from './helpers.js';

const temporary = useTemporaryStateDir('kc-upgrade-');
const FROM = 'v1.36.3';
const TO = 'v1.37.2';
const spec = (controlPlanes = 2, workers = 2) =>
  defaultClusterSpec({ name: 'up', controlPlanes, workers, waitSeconds: 5, kubernetesVersion: FROM, nodeImage: nodeImageFor(FROM) });

describe('which upgrades kc makes (pure)', () => {
  it('takes one minor up, or a newer patch', () => {
    expect(upgradeStepProblem('v1.36.3', 'v1.37.2')).toBeUndefined();
    expect(upgradeStepProblem('v1.35.4', 'v1.36.3')).toBeUndefined();
    expect(upgradeStepProblem('v1.36.1', 'v1.36.3')).toBeUndefined();
  });

  it('refuses a downgrade and a skipped minor, saying what to do instead', () => {
    expect(upgradeStepProblem('v1.37.2', 'v1.36.3')).toMatch(/^v1\.36\.3 is older than the cluster's v1\.37\.2: kc does not downgrade .* create a new cluster with --kubernetes-version v1\.36\.3$/);
    expect(upgradeStepProblem('v1.36.3', 'v1.36.1')).toMatch(/older than/);
    expect(upgradeStepProblem('v1.35.4', 'v1.37.2')).toMatch(/^v1\.35\.4 to v1\.37\.2 skips a minor version: .* upgrade to v1\.36 first/);
  });
});

let commands: string[] = [];
let script: RecordedCluster['script'] = () => undefined;

/** A cluster of `FROM` on the fake engine, the node image of `TO` present. */
async function fakeCluster(controlPlanes = 2): Promise<FakeEngine> {
  const engine = new FakeEngine();
  engine.images.set(nodeImageFor(FROM), { [LABEL_KUBERNETES_VERSION]: FROM });
  engine.images.set(nodeImageFor(TO), { [LABEL_KUBERNETES_VERSION]: TO });
  const cluster = await recordedCluster(engine, spec(controlPlanes), join(temporary.dir, 'kubeconfig'));
  ({ commands, script } = cluster);
  return engine;
}

const upgrade = (engine: FakeEngine, to = TO, controlPlanes = 2) =>
  upgradeCluster({ engine, progress: silentProgress, cluster: 'up', kubernetesVersion: to, waitSeconds: 5, apiProbe: healthyApi(spec(controlPlanes)) });

describe('kc upgrade cluster on the fake engine', () => {
  it('replaces the masters one by one (out of HAProxy and etcd first), then the workers (drained), keeping names, addresses and volumes', async () => {
    const engine = await fakeCluster();
    const before = (await loadState('up'))!;
    const result = await upgrade(engine);
    const after = (await loadState('up'))!;
    expect(result).toMatchObject({ from: FROM, to: TO, alreadyThere: false });
    expect(Object.keys(result.nodeSeconds)).toEqual(['up-master-0', 'up-master-1', 'up-worker-0', 'up-worker-1']);
    expect(after.plan.spec).toMatchObject({ kubernetesVersion: TO, nodeImage: nodeImageFor(TO) });
    expect(after.operation).toBeUndefined();
    expect(after.pki).toEqual(before.pki);
    for (const node of [...after.plan.masters, ...after.plan.workers]) {
      expect(engine.nodes.get(node.name)?.spec.image, node.name).toBe(nodeImageFor(TO));
      expect(engine.nodes.get(node.name)?.spec.ip, node.name).toBe(before.plan.masters.concat(before.plan.workers).find((n) => n.name === node.name)?.ip);
    }
    expect(engine.nodes.get('up-lb')?.spec.image).toBe(nodeImageFor(FROM));
    // A replaced master's etcd joins the members that run (an empty data dir and state `new` would make it a removed member again).
    const etcdUnit = [...(engine.nodes.get('up-master-0')?.files.values() ?? [])].find((f) => f.path.endsWith('/etcd.service'));
    expect(String(etcdUnit?.content)).toContain('--initial-cluster-state=existing');
    // Workers keep their containerd volume: images loaded with kc load survive.
    expect(engine.calls.filter((c) => c.startsWith('removeVolume'))).toEqual([]);
    expect(engine.volumes.has(containerdVolume(after.plan.workers[0]!))).toBe(true);

    const at = (pattern: RegExp) => commands.findIndex((c) => pattern.test(c));
    const call = (line: string) => engine.calls.indexOf(line);
    for (const m of ['up-master-0', 'up-master-1']) {
      const drained = at(new RegExp(`^up-lb: .*set server masters/${m} state drain`));
      const removedFromEtcd = at(/etcdctl .*member remove/);
      expect(drained, m).toBeGreaterThanOrEqual(0);
      expect(drained).toBeLessThan(at(new RegExp(`^${m}: systemctl stop --no-block kube-apiserver`)));
      expect(removedFromEtcd).toBeGreaterThanOrEqual(0);
      expect(call(`removeNode ${m}`)).toBeLessThan(call(`createNode ${m}`));
    }
    // One master at a time, and every master before any worker.
    expect(call('createNode up-master-0')).toBeLessThan(call('removeNode up-master-1'));
    expect(call('createNode up-master-1')).toBeLessThan(call('removeNode up-worker-0'));
    expect(at(/^up-master-0: .*drain up-worker-0 --ignore-daemonsets/)).toBeGreaterThanOrEqual(0);
    expect(at(/^up-master-0: .*uncordon up-worker-0/)).toBeLessThan(at(/^up-master-0: .*drain up-worker-1 --ignore-daemonsets/));
    // The add-ons last: CoreDNS of the new release.
    const lastApply = commands.length - 1 - [...commands].reverse().findIndex((c) => c.includes('apply -f -'));
    expect(lastApply).toBeGreaterThan(at(/uncordon up-worker-1/));
    // Run again: nothing to do.
    commands.length = 0;
    expect((await upgrade(engine)).alreadyThere).toBe(true);
    expect(commands).toEqual([]);
  }, 60_000);

  it('refuses an unknown version and a downgrade, changing nothing', async () => {
    const engine = await fakeCluster();
    const refusal = async (to: string) => {
      const error = await upgrade(engine, to).catch((e: unknown) => e);
      expect(error, to).toBeInstanceOf(UsageError);
      return String(error);
    };
    expect(await refusal('v1.99.0')).toMatch(/--kubernetes-version v1\.99\.0 is not one kc builds node images for: use one of v1\.37\.2, v1\.36\.3, v1\.35\.4/);
    expect(await refusal('v1.35.4')).toMatch(/does not downgrade/);
    expect(commands).toEqual([]);
    expect(engine.calls.filter((c) => !c.startsWith('listNodes'))).toEqual([]);
    expect((await loadState('up'))?.operation).toBeUndefined();
  }, 60_000);

  it('refuses a cluster with one master: replacing it would stop its API and lose its only etcd member', async () => {
    const single = await fakeCluster(1);
    const error = await upgrade(single, TO, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect(String(error)).toMatch(/has one master: .*kc create node --role master --name up/);
    expect(single.calls.filter((c) => !c.startsWith('listNodes'))).toEqual([]);
  }, 60_000);

  it('records each node as it is done; run again after a failure, it continues from the node that failed', async () => {
    const engine = await fakeCluster();
    script((_node, line) => (line.includes('drain up-worker-0 ') ? failed('error: cannot evict pod as it would violate the pod\'s disruption budget') : undefined));
    const error = await upgrade(engine).catch((e: unknown) => e);
    expect(String(error)).toMatch(/Draining up-worker-0 failed: [\s\S]*disruption budget/);
    expect(String(error)).not.toContain('the cluster is as it was');
    expect(String(error)).toContain('The upgrade stopped: up-master-0, up-master-1 run v1.37.2; up-worker-0 was being replaced; up-worker-1 runs v1.36.3.');
    expect(String(error)).toContain('kc upgrade cluster --kubernetes-version v1.37.2 --name up` again to continue from up-worker-0');
    const stopped = (await loadState('up'))!;
    expect(stopped.operation).toMatchObject({ kind: 'upgrade', from: FROM, to: TO, done: ['up-master-0', 'up-master-1'] });
    // The node being replaced is the journal's move, as far as it got.
    expect(stopped.journal?.move).toMatchObject({ kind: 'replace', node: { name: 'up-worker-0' }, step: 0, stepDone: false });
    expect(stopped.plan.spec.kubernetesVersion).toBe(FROM);
    // Another change waits for the upgrade to finish.
    await expect(upgrade(engine, 'v1.36.3')).rejects.toThrow(/part-way through an upgrade to v1\.37\.2 .*kc upgrade cluster --kubernetes-version v1\.37\.2 --name up/);

    script(() => undefined);
    engine.calls.length = 0;
    const result = await upgrade(engine);
    expect(Object.keys(result.nodeSeconds)).toEqual(['up-worker-0', 'up-worker-1']);
    expect(engine.calls.filter((c) => /^(removeNode|createNode) up-master/.test(c))).toEqual([]);
    expect((await loadState('up'))?.plan.spec.kubernetesVersion).toBe(TO);
  }, 60_000);
});
