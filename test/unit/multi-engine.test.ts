import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CreateStepError } from '../../src/cluster/create/create.js';
import { deleteCluster } from '../../src/cluster/ops/delete.js';
import { listClusters } from '../../src/cluster/ops/list.js';
import { defaultClusterSpec, DEFAULT_NODE_IMAGE } from '../../src/config/defaults.js';
import { parseClusterConfig } from '../../src/config/v1alpha1.js';
import type { ClusterSpec } from '../../src/config/types.js';
import { renderBridgeConflist } from '../../src/components/cni-bridge.js';
import { engineOwnRange, remoteEnginesInUse, spansEngines } from '../../src/model/engines.js';
import { planCluster } from '../../src/model/plan.js';
import { dockerClientFor } from '../../src/provider/docker/connect.js';
import { DockerEngine } from '../../src/provider/docker/engine.js';
import { FakeEngine } from '../../src/provider/fake/engine.js';
import { EngineMismatchError, MultiEngine } from '../../src/provider/multi/router.js';
import { EngineUnavailableError, LABEL_SWARM_BY_KC } from '../../src/provider/provider.js';
import { loadClusterEngines } from '../../src/state/cluster-engines.js';
import { pickNodeSubnet } from '../../src/model/subnet.js';
import { hostRoutes } from '../../src/util/host-routes.js';
import { createFakeCluster, healthyCluster } from './fake-cluster.js';
import { useTemporaryStateDir } from './helpers.js';

/**
 * A cluster across engines, on in-memory engines: which node goes where, the
 * swarm kc makes and takes down again, the image shared once, and the checks
 * that refuse engines before anything is created.
 */
const temporary = useTemporaryStateDir('kc-multi-');


/** lb, one master and worker-0 local; worker-1 on e2. */
function spanningSpec(name: string, overrides: Partial<ClusterSpec> = {}): ClusterSpec {
  const none = { extraPortMappings: [], extraMounts: [] };
  return defaultClusterSpec({
    name,
    controlPlanes: 1,
    workers: 2,
    waitSeconds: 5,
    engines: [{ name: 'e2', host: 'tcp://10.9.0.2:2375' }],
    nodeExtras: { masters: [none], workers: [none, { ...none, engine: 'e2' }] },
    ...overrides,
  });
}

let nextAddress = 1;

/** A connection refused, as Node's net reports it. */
function refused(address: string, port: number): Error {
  return Object.assign(new Error(`connect ECONNREFUSED ${address}:${port}`), { code: 'ECONNREFUSED', syscall: 'connect', address, port });
}

function engines() {
  const local = new FakeEngine({ images: [DEFAULT_NODE_IMAGE] });
  const remote = new FakeEngine();
  local.onExec = healthyCluster();
  remote.onExec = healthyCluster();
  const address = `10.8.0.${nextAddress++}`;
  const multi = new MultiEngine({
    local,
    remotes: [{ name: 'e2', host: 'tcp://10.9.0.2:2375', provider: remote, advertiseAddress: '10.9.0.2' }],
    localAddress: async () => address,
    pause: async () => undefined,
  });
  localOf.set(multi, local);
  return { local, remote, multi };
}

/** The engine kc runs on of each multi-engine provider a test made. */
const localOf = new WeakMap<MultiEngine, FakeEngine>();

function create(engine: MultiEngine, spec: ClusterSpec, afterStep?: (title: string) => void) {
  return createFakeCluster(engine, spec, join(temporary.dir, 'kubeconfig'), { afterStep, span: engine.span, registries: localOf.get(engine) });
}

function remove(engine: MultiEngine, name: string) {
  return deleteCluster({ engine, registries: localOf.get(engine) as FakeEngine, span: engine.span, name, kubeconfigPath: join(temporary.dir, 'kubeconfig') });
}

describe('placing a cluster on several engines', () => {
  it('reads engines and each node\'s engine from the config file, with file:line errors', () => {
    const header = 'apiVersion: kc.dev/v1alpha1\nkind: Cluster\n';
    const file = parseClusterConfig(`${header}engines:\n  - {name: e2, host: "tcp://10.9.0.2:2375"}\nnodes:\n  - role: master\n  - role: worker\n    engine: e2\n`, 'span.yaml');
    expect(file.spec.engines).toEqual([{ name: 'e2', host: 'tcp://10.9.0.2:2375' }]);
    expect(file.spec.nodeExtras?.workers[0]?.engine).toBe('e2');
    expect(() => parseClusterConfig(`${header}nodes:\n  - role: master\n  - role: worker\n    engine: e3\n`, 'span.yaml')).toThrow(
      /^span\.yaml:6: nodes\[1\]\.engine: "e3" is not valid; use local \(an engine listed under engines, or local\)/,
    );
    expect(() => parseClusterConfig(`${header}engines:\n  - {name: e2, host: "http://x"}\n`, 'span.yaml')).toThrow(/span\.yaml:4: engines\[0\]\.host: "http:\/\/x" is not valid; use tcp:\/\/HOST:PORT/);
    expect(() => parseClusterConfig(`${header}engines:\n  - {name: local, host: "tcp://a:1"}\n`, 'span.yaml')).toThrow(/"local" is the engine kc runs on/);
  });

  it('plans each node on its engine, and keeps the engines\' own overlay addresses off the nodes\' ones', () => {
    const spec = spanningSpec('plan');
    expect(spansEngines(spec)).toBe(true);
    expect(spansEngines(defaultClusterSpec())).toBe(false);
    expect(remoteEnginesInUse(spec).map((e) => e.name)).toEqual(['e2']);
    const plan = planCluster(spec, '172.30.5.0/24');
    expect([plan.lb, ...plan.masters, ...plan.workers].map((n) => n.engine)).toEqual([undefined, undefined, undefined, 'e2']);
    expect(engineOwnRange('172.30.5.0/24')).toBe('172.30.5.4/30');
    // Pods' packets fit in the overlay's VXLAN frames.
    const bridgeMtu = (text: string): unknown => (JSON.parse(text) as { plugins: { mtu?: number }[] }).plugins[0]?.mtu;
    expect(bridgeMtu(renderBridgeConflist(plan.workers[0]!, plan))).toBe(1450);
    expect(bridgeMtu(renderBridgeConflist(planCluster(defaultClusterSpec(), '172.30.5.0/24').workers[0]!))).toBeUndefined();
  });

  it('creates the cluster across engines: a swarm kc made, an overlay, the image shared once, each node on its engine', async () => {
    const { local, remote, multi } = engines();
    await create(multi, spanningSpec('span'));
    expect([...local.nodes.keys()].sort()).toEqual(['span-lb', 'span-master-0', 'span-worker-0']);
    expect([...remote.nodes.keys()]).toEqual(['span-worker-1']);
    expect(remote.images.has(DEFAULT_NODE_IMAGE), 'the node image was streamed to the second engine').toBe(true);
    expect(local.swarm).toMatchObject({ state: 'active', manager: true, createdByKc: true });
    expect(remote.swarm.state).toBe('active');
    expect(local.swarmNodeLabels.get(remote.swarm.nodeId)).toEqual({ [LABEL_SWARM_BY_KC]: 'joined' });
    const network = local.networks.get('kc-span');
    expect(network?.labels['dev.kc.spans-engines']).toBe('true');
    // Files and commands for the far worker went to its engine.
    expect(remote.nodes.get('span-worker-1')?.files.has('/etc/systemd/system/kubelet.service')).toBe(true);
    expect(remote.calls.some((c) => c.startsWith('exec span-worker-1'))).toBe(true);
    expect(local.calls.some((c) => c === 'exec span-worker-1')).toBe(false);
    // A second create does not copy the image again.
    const loads = remote.calls.filter((c) => c.startsWith('loadImages')).length;
    await create(multi, spanningSpec('span2'));
    expect(remote.calls.filter((c) => c.startsWith('loadImages')).length).toBe(loads);
  }, 60_000);

  it('deletes on every engine, and leaves the swarm it made only after the last cluster across engines', async () => {
    const { local, remote, multi } = engines();
    await create(multi, spanningSpec('first'));
    await create(multi, spanningSpec('second'));
    await remove(multi, 'first');
    expect(remote.nodes.has('first-worker-1')).toBe(false);
    expect(local.swarm.state, 'another cluster still uses the swarm').toBe('active');
    await remove(multi, 'second');
    expect(local.isEmpty() && remote.isEmpty()).toBe(true);
    expect(local.swarm.state).toBe('inactive');
    expect(remote.swarm.state).toBe('inactive');
  }, 60_000);

  it('lists a cluster across engines with the nodes of every engine it runs on (kc get clusters)', async () => {
    const { local, remote, multi } = engines();
    await create(multi, spanningSpec('listed'));
    await remote.stopNode('listed-worker-1');
    const clusters = await listClusters(local, async () => multi);
    expect(clusters).toEqual([{ name: 'listed', status: 'partial', nodes: 4, addons: [] }]);
  }, 60_000);

  it('sends each node call to the engine the node carries, and guesses none: an engine the cluster lacks is an error', async () => {
    const { local, remote, multi } = engines();
    await create(multi, spanningSpec('routed'));
    local.calls.length = 0;
    remote.calls.length = 0;
    await multi.exec({ name: 'routed-worker-1', engine: 'e2' }, ['true']);
    await multi.exec({ name: 'routed-worker-0' }, ['true']);
    expect(remote.calls).toEqual(['exec routed-worker-1']);
    expect(local.calls).toEqual(['exec routed-worker-0']);
    // No engine asked which of them has a node: the reference says.
    await expect(multi.exec({ name: 'routed-worker-1', engine: 'e9' }, ['true'])).rejects.toThrow(/routed-worker-1 is on engine "e9", which this cluster does not have/);
    expect([...local.calls, ...remote.calls].filter((c) => c.startsWith('inspectNode'))).toEqual([]);
    // A listing says where each node is, so what kc does with it goes there too.
    const far = (await multi.listNodes({ 'dev.kc.cluster': 'routed' })).find((n) => n.name === 'routed-worker-1');
    expect(far?.engine).toBe('e2');
    await multi.stopNode(far!);
    expect(remote.nodes.get('routed-worker-1')?.state).toBe('exited');
  }, 60_000);

  it('never takes a swarm it did not make out of swarm mode', async () => {
    const { local, remote, multi } = engines();
    await local.initSwarm('10.8.9.9');
    local.swarm.createdByKc = false;
    await create(multi, spanningSpec('guest'));
    await remove(multi, 'guest');
    expect(local.swarm.state).toBe('active');
    // The engine kc joined to it leaves again.
    expect(remote.swarm.state).toBe('inactive');
  }, 60_000);

  it('removes what it made on every engine when a create fails, the swarm included', async () => {
    const { local, remote, multi } = engines();
    const failure = await create(multi, spanningSpec('broken'), (step) => {
      if (step === 'Joining workers') throw new Error('injected');
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CreateStepError);
    expect(local.isEmpty() && remote.isEmpty()).toBe(true);
    expect([local.swarm.state, remote.swarm.state]).toEqual(['inactive', 'inactive']);
  }, 60_000);

  it('records the engines before creating anything on them, so a create kept half-way is deleted everywhere', async () => {
    const { multi } = engines();
    await create(multi, spanningSpec('kept', { retain: true }), (step) => {
      if (step === 'Starting nodes') throw new Error('injected');
    }).catch(() => undefined);
    expect((await loadClusterEngines('kept'))?.engines).toEqual([{ name: 'e2', host: 'tcp://10.9.0.2:2375' }]);
  }, 60_000);

  it('refuses, before creating anything, an engine that does not answer, runs another Docker, lacks swarm mode or is in another swarm', async () => {
    const cases: [string, (remote: FakeEngine) => void, RegExp][] = [
      ['unreachable', (r) => r.failOn({ method: 'ensureReachable', error: new EngineUnavailableError({ host: 'tcp://10.9.0.2:2375' }, refused('10.9.0.2', 2375)) }), /cannot reach engine "e2" at tcp:\/\/10\.9\.0\.2:2375: 10\.9\.0\.2:2375 refused the connection/],
      ['other version', (r) => { r.ensureReachable = async () => '24.0.7'; }, /engine "e2" .* runs Docker 24\.0\.7, the engine kc runs on fake/],
      ['no swarm', (r) => r.failOn({ method: 'swarmState', error: new Error('404 page not found') }), /has no swarm mode/],
      ['foreign swarm', (r) => { r.swarm = { state: 'active', nodeId: 'elsewhere', manager: true, nodeAddress: '10.9.0.2' }; }, /is in another swarm/],
    ];
    for (const [label, breakIt, message] of cases) {
      const { local, remote, multi } = engines();
      breakIt(remote);
      const failure = await create(multi, spanningSpec(`bad-${label.replace(' ', '-')}`)).catch((error: unknown) => error);
      expect(failure, label).toBeInstanceOf(CreateStepError);
      expect((failure as CreateStepError).step).toBe('Checking engines');
      expect((failure as Error).message, label).toMatch(message);
      expect((failure as CreateStepError).outcome).toBe('nothing-created');
      expect(local.isEmpty() && remote.isEmpty() && local.swarm.state === 'inactive', label).toBe(true);
    }
    expect(EngineMismatchError.name).toBe('EngineMismatchError');
  }, 60_000);

  it('names the engine when the first request to it, a listing before any step, is refused, and creates nothing', async () => {
    // A loopback port that was free a moment ago: nothing listens there.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const host = `tcp://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    const local = new FakeEngine({ images: [DEFAULT_NODE_IMAGE] });
    const multi = new MultiEngine({
      local,
      remotes: [{ name: 'e2', host, provider: new DockerEngine(dockerClientFor(host), { name: 'e2', host }), advertiseAddress: undefined }],
      localAddress: async () => '10.8.0.250',
    });
    localOf.set(multi, local);
    const failure = await create(multi, spanningSpec('first-contact', { engines: [{ name: 'e2', host }] })).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(EngineUnavailableError);
    expect((failure as Error).message).toMatch(new RegExp(`^cannot reach engine "e2" at ${host}: 127\\.0\\.0\\.1:\\d+ refused the connection`));
    // Only looked: whether a cluster of that name exists.
    expect(local.calls.every((call) => call.startsWith('list'))).toBe(true);
    expect(local.isEmpty()).toBe(true);
    expect(await loadClusterEngines('first-contact')).toBeUndefined();
  });

  it('refuses a pod range that overlaps a network on one of the engines', async () => {
    const { remote, multi } = engines();
    await remote.createNetwork({ name: 'theirs', cluster: 'x', subnet: '10.244.7.0/24', gateway: '10.244.7.1' });
    const failure = create(multi, spanningSpec('overlap'));
    await expect(failure).rejects.toThrow(/podSubnet 10\.244\.0\.0\/16 overlaps 10\.244\.7\.0\/24/);
  }, 60_000);

  it('joins the engines once when the first subnet it tries is taken by a cluster created at the same time', async () => {
    const { local, remote, multi } = engines();
    // Another create's network appears between kc's look at the subnets and its own network: the first pick is taken.
    const firstPick = pickNodeSubnet([...(await local.usedSubnets()), ...(await hostRoutes())]);
    await local.createNetwork({ name: 'racing', cluster: 'racing', subnet: firstPick, gateway: '172.30.0.1' });
    const usedSubnets = local.usedSubnets.bind(local);
    local.usedSubnets = async () => (await usedSubnets()).filter((subnet) => subnet !== firstPick);
    const result = await create(multi, spanningSpec('raced'));
    expect(result.plan.network.subnet).not.toBe(firstPick);
    expect(local.calls.filter((c) => c.startsWith('initSwarm')), 'the swarm is made once').toHaveLength(1);
    expect(remote.calls.filter((c) => c.startsWith('joinSwarm')), 'the engine joins once').toHaveLength(1);
    expect(remote.calls.filter((c) => c.startsWith('leaveSwarm'))).toHaveLength(0);
  }, 60_000);

  it('tries a node again while its engine does not know the new overlay yet', async () => {
    const { remote, multi } = engines();
    let refusals = 2;
    const original = remote.createNode.bind(remote);
    remote.createNode = async (spec) => {
      if (refusals-- > 0) throw new Error(`network kc-retry not found`);
      return original(spec);
    };
    await create(multi, spanningSpec('retry'));
    expect(remote.nodes.has('retry-worker-1')).toBe(true);
  }, 60_000);
});
