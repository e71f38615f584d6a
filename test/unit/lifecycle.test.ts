import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { addNodes } from '../../src/cluster/lifecycle/add-node.js';
import { clusterStatus, nodeStatus } from '../../src/cluster/ops/status.js';
import { leaderOf, parseMemberList, quorumAfterRemoval } from '../../src/cluster/lifecycle/moves/etcd.js';
import { parseServersState } from '../../src/cluster/lifecycle/moves/access.js';
import { removeNodes } from '../../src/cluster/lifecycle/remove-node.js';
import { startCluster, stopCluster, stopOrder } from '../../src/cluster/lifecycle/stop-start.js';
import { ChangeStoppedError } from '../../src/cluster/lifecycle/runner.js';
import { apiServerBundle } from '../../src/components/apiserver.js';
import { etcdBundle } from '../../src/components/etcd.js';
import { podNetworkCommands } from '../../src/components/cni-bridge.js';
import { renderHaproxyConfig } from '../../src/components/haproxy.js';
import { PATHS } from '../../src/components/paths.js';
import { defaultClusterSpec, DEFAULT_NODE_IMAGE } from '../../src/config/defaults.js';
import { planCluster, withNodeAdded, withNodeRemoved } from '../../src/model/plan.js';
import { generateClusterPki, withNodePki, withoutNodePki } from '../../src/pki/cluster-pki.js';
import type { ClusterPki } from '../../src/pki/types.js';
import { FakeEngine } from '../../src/provider/fake/engine.js';
import type { ExecResult } from '../../src/provider/provider.js';
import type { ApiProbe } from '../../src/cluster/kube/api.js';
import { FakeControlPlane, failed, healthyApi, ok, readyBackendServers, recordedCluster, runningWorkers, workersOf } from './fake-cluster.js';
import { clusterStateFile, loadState } from '../../src/state/cluster-state.js';
import { UsageError } from '../../src/util/errors.js';
import { silentProgress } from '../../src/util/progress.js';
import { useTemporaryStateDir } from './helpers.js';

const spec = (controlPlanes: number, workers: number) => defaultClusterSpec({ name: 'life', controlPlanes, workers, waitSeconds: 5 });
const basePlan = (controlPlanes = 2, workers = 1) => planCluster(spec(controlPlanes, workers), '172.30.9.0/24');
const fileOf = (bundle: { files: { path: string; content: string | Buffer }[] }, suffix: string) =>
  String(bundle.files.find((f) => f.path.endsWith(suffix))?.content ?? '');

describe('adding and removing nodes in the plan (pure)', () => {
  it('gives a new node the next free index, its fixed address and, for a worker, its own pod range', () => {
    const { plan, node } = withNodeAdded(basePlan(), 'worker');
    expect(node).toEqual({ name: 'life-worker-1', role: 'worker', index: 1, ip: '172.30.9.101', joined: true, podSubnet: '10.244.2.0/24' });
    expect(plan.workers.map((w) => w.name)).toEqual(['life-worker-0', 'life-worker-1']);
    expect(plan.spec.workers).toBe(2);
    const master = withNodeAdded(plan, 'master');
    expect(master.node).toMatchObject({ name: 'life-master-2', ip: '172.30.9.12', joined: true });
    expect(master.node.podSubnet).toBeUndefined();
    expect(master.plan.spec.controlPlanes).toBe(3);
  });

  it("reuses a removed node's slot: name, address and pod range", () => {
    const plan = withNodeRemoved(withNodeAdded(basePlan(2, 2), 'worker').plan, 'life-worker-0');
    expect(plan.workers.map((w) => w.name)).toEqual(['life-worker-1', 'life-worker-2']);
    const { node } = withNodeAdded(plan, 'worker');
    expect(node).toMatchObject({ name: 'life-worker-0', ip: '172.30.9.100', podSubnet: '10.244.1.0/24' });
  });

  it('routes every node to the new worker, and no node to a removed one', () => {
    const { plan } = withNodeAdded(basePlan(), 'worker');
    for (const node of [plan.lb, ...plan.masters, plan.workers[0]!]) {
      expect(podNetworkCommands(plan, node)).toContain('ip route replace 10.244.2.0/24 via 172.30.9.101');
    }
    const removed = withNodeRemoved(plan, 'life-worker-1');
    expect(podNetworkCommands(removed, removed.lb).join('\n')).not.toContain('10.244.2.0/24 via');
  });
});

describe('certificates of a node that joins later', () => {
  const plan = basePlan();
  let pki: ClusterPki;
  beforeAll(async () => {
    pki = await generateClusterPki(plan);
  });

  it("signs a worker's kubelet pair with the cluster's CA, for its name and address", async () => {
    const { plan: next, node } = withNodeAdded(plan, 'worker');
    const withWorker = await withNodePki(pki, next, node);
    const cert = new X509Certificate(withWorker.kubelets['life-worker-1']!.certPem);
    const ca = new X509Certificate(pki.ca.certPem);
    expect(cert.checkIssued(ca) && cert.verify(ca.publicKey)).toBe(true);
    expect(cert.subject).toContain('CN=system:node:life-worker-1');
    expect(cert.subjectAltName).toContain('IP Address:172.30.9.101');
    expect(withoutNodePki(withWorker, 'life-worker-1').kubelets).toEqual(pki.kubelets);
  });

  it("gives a master its etcd pairs and its own API server certificate naming it; founding masters keep the shared one", async () => {
    const { plan: next, node } = withNodeAdded(plan, 'master');
    const withMaster = await withNodePki(pki, next, node);
    expect(Object.keys(withMaster.etcdPeer)).toEqual(['life-master-0', 'life-master-1', 'life-master-2']);
    const own = fileOf(apiServerBundle(next, node, withMaster), '/apiserver.crt');
    expect(new X509Certificate(own).subjectAltName).toContain('IP Address:172.30.9.12');
    expect(fileOf(apiServerBundle(next, next.masters[0]!, withMaster), '/apiserver.crt')).toBe(pki.apiServer.certPem);
  });

  it("starts a joining master's etcd as an existing member of the membership it joins; founders as a new cluster", async () => {
    const { plan: next, node } = withNodeAdded(plan, 'master');
    const withMaster = await withNodePki(pki, next, node);
    const joining = fileOf(etcdBundle(next, node, withMaster), 'etcd.service');
    expect(joining).toContain('--initial-cluster-state=existing');
    expect(joining).toContain('--initial-cluster=life-master-0=https://life-master-0:2380,life-master-1=https://life-master-1:2380,life-master-2=https://life-master-2:2380');
    expect(fileOf(etcdBundle(next, next.masters[0]!, withMaster), 'etcd.service')).toContain('--initial-cluster-state=new');
  });

  it('points every API server at the etcd member beside it, so its flags do not change with membership', () => {
    expect(fileOf(apiServerBundle(plan, plan.masters[1]!, pki), 'kube-apiserver.service')).toContain('--etcd-servers=https://127.0.0.1:2379');
  });
});

describe('etcd membership and quorum', () => {
  it('reads 64-bit member IDs exactly (JSON numbers lose them) as hex, with learners marked', () => {
    const json = '{"header":{},"members":[{"ID":16543329045138227194,"name":"a","peerURLs":["https://a:2380"]},{"ID":42,"peerURLs":["https://b:2380"],"isLearner":true}]}';
    expect(parseMemberList(json)).toEqual([
      { id: 'e595b61dc1ddbffa', name: 'a', peerUrls: ['https://a:2380'], isLearner: false },
      { id: '2a', name: '', peerUrls: ['https://b:2380'], isLearner: true },
    ]);
  });

  it("reads the leader's 64-bit ID from endpoint status exactly, and none when there is no leader", () => {
    const json = '[{"Endpoint":"https://a:2379","Status":{"header":{"cluster_id":1,"member_id":16543329045138227194},"version":"3.6.8","leader":16543329045138227194,"raftTerm":3}}]';
    expect(leaderOf(json)).toBe('e595b61dc1ddbffa');
    expect(leaderOf('[{"Status":{"header":{},"leader":0}}]')).toBeUndefined();
    expect(leaderOf('')).toBeUndefined();
  });

  it('says when a removal breaks the quorum, and when it only leaves no room for another failure', () => {
    expect(quorumAfterRemoval(3, 3, true)).toMatchObject({ votersAfter: 2, quorumAfter: 2, breaksQuorum: false, noFaultTolerance: true });
    expect(quorumAfterRemoval(3, 2, true)).toMatchObject({ healthyAfter: 1, breaksQuorum: true });
    expect(quorumAfterRemoval(3, 2, false)).toMatchObject({ healthyAfter: 2, breaksQuorum: false });
    expect(quorumAfterRemoval(5, 5, true)).toMatchObject({ breaksQuorum: false, noFaultTolerance: false });
    expect(quorumAfterRemoval(2, 2, true)).toMatchObject({ votersAfter: 1, breaksQuorum: false, noFaultTolerance: true });
  });
});

describe("HAProxy's backend list", () => {
  it('names every master, checks them fast and retries a connection on another master', () => {
    const config = renderHaproxyConfig(withNodeAdded(basePlan(), 'master').plan);
    // Once in the backend of ready masters, once in the one used while none is ready.
    expect(config.match(/^ {2}server \S+-master-\d /gm)).toHaveLength(6);
    expect(config).toContain('timeout connect 200ms');
    expect(config).toContain('stats socket /run/haproxy-admin.sock');
    expect(config).toContain('option redispatch 1');
  });

  it('reads the live state of each server from the runtime API', () => {
    const text = [
      '1',
      '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state',
      '3 masters 1 life-master-0 172.30.9.10 2 0',
      '3 masters 2 life-master-1 172.30.9.11 0 0',
    ].join('\n');
    expect([...parseServersState(text)]).toEqual([['life-master-0', true], ['life-master-1', false]]);
  });
});

describe('cluster status', () => {
  it('is running, stopped or partial from its containers', () => {
    expect(nodeStatus({ state: 'running' })).toBe('running');
    expect(nodeStatus({ state: 'exited' })).toBe('stopped');
    expect(nodeStatus(undefined)).toBe('missing');
    expect(clusterStatus(['running', 'running'])).toBe('running');
    expect(clusterStatus(['stopped', 'missing'])).toBe('stopped');
    expect(clusterStatus(['running', 'stopped'])).toBe('partial');
  });

  it('stops every node at once: the lb, the masters and the workers', () => {
    const plan = basePlan(2, 2);
    expect(stopOrder(plan).map((n) => n.name).sort()).toEqual(['life-lb', 'life-master-0', 'life-master-1', 'life-worker-0', 'life-worker-1']);
  });
});

const temporary = useTemporaryStateDir('kc-lifecycle-');

/** Every command run in a node by the fake cluster, as `node: command`. */
let commands: string[] = [];
/** The fake cluster's etcd membership and HAProxy backends. */
let controlPlane: FakeControlPlane;
/** A test's own answer to a command run in a node, before the fake cluster's (undefined: the cluster answers). */
let scripted: (node: string, line: string) => ExecResult | undefined;

async function fakeCluster(clusterSpec = spec(2, 1)): Promise<FakeEngine> {
  const engine = new FakeEngine({ images: [DEFAULT_NODE_IMAGE] });
  scripted = () => undefined;
  const cluster = await recordedCluster(engine, clusterSpec, join(temporary.dir, 'kubeconfig'));
  cluster.script((node, line) => scripted(node, line));
  ({ commands, controlPlane } = cluster);
  return engine;
}

/** The fake cluster's API server as kc asks it from the host: every worker running now, Ready. */
const lifeApi = (engine: FakeEngine) => healthyApi(spec(2, 1), runningWorkers('life', engine));

const addWorker = (engine: FakeEngine, count = 1) =>
  addNodes({ engine, progress: silentProgress, cluster: 'life', role: 'worker', count, waitSeconds: 5, apiProbe: lifeApi(engine) });

const removeLifeNodes = (engine: FakeEngine, nodes: string[], waitSeconds = 5) =>
  removeNodes({ engine, progress: silentProgress, cluster: 'life', nodes, waitSeconds, force: false });

describe('kc create node / delete node / stop on the fake engine', () => {
  it('adds a worker: its container, its files and units, routes on every other node, then the state', async () => {
    const engine = await fakeCluster();
    const result = await addWorker(engine);
    expect(result.added).toEqual(['life-worker-1']);
    expect(engine.nodes.get('life-worker-1')?.files.has('/etc/systemd/system/kubelet.service')).toBe(true);
    const worker = (await loadState('life'))?.plan.workers[1];
    for (const node of ['life-lb', 'life-master-0', 'life-master-1', 'life-worker-0']) {
      const unit = String(engine.nodes.get(node)?.files.get('/etc/systemd/system/kc-pod-network.service')?.content);
      expect(unit).toContain(`ip route replace 10.244.2.0/24 via ${worker?.ip ?? '?'}`);
      expect(commands).toContain(`${node}: systemctl restart kc-pod-network.service`);
    }
    const state = await loadState('life');
    expect(state?.plan.workers.map((w) => w.name)).toEqual(['life-worker-0', 'life-worker-1']);
    expect(Object.keys(state?.pki.kubelets ?? {})).toEqual(['life-worker-0', 'life-worker-1']);
    expect(engine.calls.indexOf('createNode life-worker-1')).toBeLessThan(engine.calls.findIndex((c) => c.startsWith('copyFiles life-lb')));
  }, 30_000);

  it("publishes a new worker's extra port mapping with host port 0 on a concrete port, as create does, so a restart keeps it", async () => {
    const none = { extraPortMappings: [], extraMounts: [] };
    const published = { extraPortMappings: [{ containerPort: 30080, hostPort: 0, listenAddress: '127.0.0.1', protocol: 'TCP' as const }], extraMounts: [] };
    // The mapping belongs to slot worker-1, which the added worker takes.
    const engine = await fakeCluster({ ...spec(2, 1), nodeExtras: { masters: [], workers: [none, published] } });
    await addWorker(engine);
    const port = engine.nodes.get('life-worker-1')?.spec.ports.find((p) => p.containerPort === 30080);
    expect(port).toMatchObject({ hostIp: '127.0.0.1', protocol: 'tcp' });
    expect(port?.hostPort).toBeGreaterThan(0);
  }, 30_000);

  it('takes a failed add back: container and volume removed, Node deleted, old routes restored, state unchanged', async () => {
    const engine = await fakeCluster();
    const before = await readFile(clusterStateFile('life'), 'utf8');
    let refusals = 1;
    scripted = (node, line) => (node === 'life-lb' && line === 'systemctl restart kc-pod-network.service' && refusals-- > 0 ? failed('lb refused') : undefined);
    const failure = await addWorker(engine).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ChangeStoppedError);
    expect((failure as Error).message).toContain('Updating pod routes failed');
    expect((failure as Error).message).toContain('lb refused');
    expect((failure as Error).message).toContain('the cluster is as it was');
    expect(commands.some((c) => c.includes('kubectl') && c.includes('delete node life-worker-1'))).toBe(true);
    expect(engine.nodes.has('life-worker-1')).toBe(false);
    expect(engine.volumes.has('life-worker-1-containerd')).toBe(false);
    expect(engine.volumes.has('life-worker-1-local-path')).toBe(false);
    expect(await readFile(clusterStateFile('life'), 'utf8')).toBe(before);
    const lbUnit = String(engine.nodes.get('life-lb')?.files.get('/etc/systemd/system/kc-pod-network.service')?.content);
    expect(lbUnit).not.toContain('10.244.2.0/24 via');
    expect(commands.filter((c) => c.startsWith('life-lb: ip route del 10.244.2.0/24'))).toHaveLength(1);
  }, 30_000);

  it('refuses bad requests before changing anything: count 0, the last worker, the lb, a stranger, a stopped cluster', async () => {
    const engine = await fakeCluster();
    const before = await readFile(clusterStateFile('life'), 'utf8');
    const remove = (nodes: string[]) => removeNodes({ engine, progress: silentProgress, cluster: 'life', nodes, waitSeconds: 5, force: false });
    await expect(addWorker(engine, 0)).rejects.toThrow('--count 0 is not a number of nodes to add');
    await expect(remove(['life-worker-0'])).rejects.toThrow('without a worker');
    await expect(remove(['life-master-0', 'life-master-1'])).rejects.toThrow('without a master');
    await expect(remove(['life-lb'])).rejects.toThrow("load balancer");
    await expect(remove(['other-worker-0'])).rejects.toThrow('has no node other-worker-0; its masters and workers: life-master-0, life-master-1, life-worker-0');
    await expect(addNodes({ engine, progress: silentProgress, cluster: 'nope', role: 'worker', count: 1, waitSeconds: 5 })).rejects.toThrow('no cluster named "nope"');
    await stopCluster({ engine, progress: silentProgress, cluster: 'life', waitSeconds: 5 });
    expect(engine.calls.filter((c) => c.startsWith('stopNode')).sort()).toEqual([
      'stopNode life-lb', 'stopNode life-master-0', 'stopNode life-master-1', 'stopNode life-worker-0',
    ]);
    const stopped = await addWorker(engine).catch((error: unknown) => error);
    expect(stopped).toBeInstanceOf(UsageError);
    expect((stopped as Error).message).toContain('is stopped');
    expect((stopped as Error).message).toContain('kc start cluster --name life');
    expect(await readFile(clusterStateFile('life'), 'utf8')).toBe(before);
    expect(engine.nodes.size).toBe(4);
  }, 30_000);

  it('removes a worker through a master that runs and stays, when master-0 is stopped and removed by the same command', async () => {
    const engine = await fakeCluster(spec(3, 2));
    await engine.stopNode('life-master-0');
    await removeLifeNodes(engine, ['life-worker-1', 'life-master-0']);
    const kubectlOnWorker = commands.filter((c) => c.includes('kubectl') && / (drain|delete node) life-worker-1 /.test(c));
    expect(kubectlOnWorker.map((c) => c.split(':')[0])).toEqual(['life-master-1', 'life-master-1']);
    expect(controlPlane.membership).toEqual(['life-master-1', 'life-master-2']);
    expect([...engine.nodes.keys()].sort()).toEqual(['life-lb', 'life-master-1', 'life-master-2', 'life-worker-0']);
  }, 30_000);

  it('gives the removal of several nodes one --wait for the whole command: the second drain gets what the first left', async () => {
    const engine = await fakeCluster(spec(2, 3));
    // Each drain takes 4 s by the clock the deadline reads.
    const realNow = Date.now.bind(Date);
    let drained = 0;
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + drained * 4000);
    scripted = (_node, line) => {
      if (line.includes(' drain ')) drained += 1;
      return undefined;
    };
    try {
      await removeLifeNodes(engine, ['life-worker-1', 'life-worker-2'], 10);
    } finally {
      clock.mockRestore();
    }
    const timeouts = commands.filter((c) => c.includes(' drain ')).map((c) => Number(/--timeout=(\d+)s/.exec(c)?.[1]));
    expect(timeouts).toHaveLength(2);
    expect(timeouts[0]).toBeGreaterThanOrEqual(9);
    expect(timeouts[1], '10 s less the 4 s the first drain took').toBeLessThanOrEqual(6);
  }, 30_000);
});

const addMaster = (engine: FakeEngine) => addNodes({ engine, progress: silentProgress, cluster: 'life', role: 'master', count: 1, waitSeconds: 10, apiProbe: lifeApi(engine) });

const etcdctlRuns = (subcommand: string) => commands.filter((c) => c.includes(' etcdctl ') && c.includes(` ${subcommand}`));
const haproxyServers = (engine: FakeEngine) =>
  readyBackendServers(String(engine.nodes.get('life-lb')?.files.get(PATHS.haproxyConfig)?.content)).map(([name]) => name);

describe('masters, removals and a start on the fake engine', () => {
  it('adds a master: an etcd learner first, promoted once etcd lets it, then its control plane and an HAProxy backend', async () => {
    const engine = await fakeCluster();
    let membershipAtFirstPromote: string[] = [];
    let promoteRefusals = 2;
    scripted = (_node, line) => {
      if (!line.includes(' member promote ')) return undefined;
      if (membershipAtFirstPromote.length === 0) membershipAtFirstPromote = controlPlane.membership;
      // Not caught up with the leader yet: etcd refuses, and kc asks again.
      return promoteRefusals-- > 0 ? failed('Error: etcdserver: can only promote a learner member which is in sync with leader') : undefined;
    };
    expect((await addMaster(engine)).added).toEqual(['life-master-2']);
    expect(etcdctlRuns('member add')).toHaveLength(1);
    expect(etcdctlRuns('member add')[0]).toMatch(/^life-master-0: .* member add life-master-2 --peer-urls=https:\/\/life-master-2:2380 --learner$/);
    expect(membershipAtFirstPromote).toEqual(['life-master-0', 'life-master-1', 'life-master-2 (learner)']);
    expect(etcdctlRuns('member promote')).toHaveLength(3);
    expect(controlPlane.membership).toEqual(['life-master-0', 'life-master-1', 'life-master-2']);
    // etcd first, the API server once the member votes; no restart needed.
    const started = (unit: string) => commands.findIndex((c) => c.startsWith('life-master-2: systemctl enable') && c.includes(unit));
    expect(started('etcd.service')).toBeLessThan(commands.indexOf(etcdctlRuns('member promote')[2] ?? ''));
    expect(started('kube-apiserver.service')).toBeGreaterThan(commands.indexOf(etcdctlRuns('member promote')[2] ?? ''));
    expect(commands).not.toContain('life-master-2: systemctl restart etcd.service');
    expect(haproxyServers(engine)).toEqual(['life-master-0', 'life-master-1', 'life-master-2']);
    const state = await loadState('life');
    expect(state?.plan.masters.map((m) => m.name)).toEqual(['life-master-0', 'life-master-1', 'life-master-2']);
    expect(Object.keys(state?.pki.etcdPeer ?? {})).toContain('life-master-2');
  }, 30_000);

  it('takes a promotion whose answer was lost as done: etcd then says the member is no learner', async () => {
    const engine = await fakeCluster();
    let lost = 1;
    scripted = (node, line) => {
      if (!line.includes(' member promote ') || lost-- <= 0) return undefined;
      // etcd promoted the member, but etcdctl gave up before the answer came.
      controlPlane.answer(engine.nodes.get(node)!, line.split(' '));
      return failed('Error: context deadline exceeded');
    };
    expect((await addMaster(engine)).added).toEqual(['life-master-2']);
    expect(controlPlane.membership).toEqual(['life-master-0', 'life-master-1', 'life-master-2']);
    expect(etcdctlRuns('member promote')).toHaveLength(2);
  }, 30_000);

  it("restarts a new master's etcd that is not ready a second after its promotion (its first publish was lost)", async () => {
    const engine = await fakeCluster();
    let restarted = false;
    scripted = (node, line) => {
      if (node !== 'life-master-2') return undefined;
      if (line === 'systemctl restart etcd.service') restarted = true;
      return line === 'systemctl is-active etcd.service' && !restarted ? ok('activating\n') : undefined;
    };
    expect((await addMaster(engine)).added).toEqual(['life-master-2']);
    const restart = commands.indexOf('life-master-2: systemctl restart etcd.service');
    expect(restart).toBeGreaterThan(commands.indexOf(etcdctlRuns('member promote').at(-1) ?? ''));
    expect(commands.slice(restart).some((c) => c.startsWith('life-master-2: systemctl enable') && c.includes('kube-apiserver.service'))).toBe(true);
  }, 30_000);

  it("refuses to remove a master when the members left that answer would be fewer than etcd's quorum, before changing anything", async () => {
    const engine = await fakeCluster(spec(3, 1));
    const before = await readFile(clusterStateFile('life'), 'utf8');
    // master-2's container runs, but its etcd member does not answer.
    scripted = (node, line) => (node === 'life-master-2' && line.includes(' endpoint health') ? failed('context deadline exceeded') : undefined);
    const refusal = await removeLifeNodes(engine, ['life-master-0']).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(UsageError);
    expect((refusal as Error).message).toContain("removing life-master-0 would break etcd's quorum: 1 of 2 remaining members answer (life-master-2: context deadline exceeded), 2 are needed");
    expect((refusal as Error).message).toContain('--force');
    expect(etcdctlRuns('member remove')).toEqual([]);
    expect(controlPlane.membership).toEqual(['life-master-0', 'life-master-1', 'life-master-2']);
    expect(haproxyServers(engine)).toEqual(['life-master-0', 'life-master-1', 'life-master-2']);
    expect(engine.nodes.has('life-master-0')).toBe(true);
    expect(await readFile(clusterStateFile('life'), 'utf8')).toBe(before);
  }, 30_000);

  it('removes a master: out of HAProxy, its API server stopped, then its etcd member (waiting out "unhealthy cluster"), then its container', async () => {
    const engine = await fakeCluster(spec(3, 1));
    let unhealthy = 2;
    // A remaining member connected to the leader less than 5 s ago: etcd refuses the removal for now.
    scripted = (_node, line) => (line.includes(' member remove ') && unhealthy-- > 0 ? failed('Error: etcdserver: unhealthy cluster') : undefined);
    expect(await removeLifeNodes(engine, ['life-master-0'])).toEqual(['life-master-0']);
    const removes = etcdctlRuns('member remove');
    expect(removes).toHaveLength(3);
    expect(removes.every((c) => c.startsWith('life-master-1: '))).toBe(true);
    expect(controlPlane.membership).toEqual(['life-master-1', 'life-master-2']);
    expect(haproxyServers(engine)).toEqual(['life-master-1', 'life-master-2']);
    const apiServerStop = commands.findIndex((c) => c.startsWith('life-master-0: systemctl stop --no-block kube-apiserver.service'));
    expect(apiServerStop).toBeGreaterThan(commands.findIndex((c) => c === 'life-lb: systemctl reload haproxy.service'));
    expect(apiServerStop).toBeLessThan(commands.indexOf(removes[0] ?? ''));
    expect(engine.nodes.has('life-master-0')).toBe(false);
    const state = await loadState('life');
    expect(state?.plan.masters.map((m) => m.name)).toEqual(['life-master-1', 'life-master-2']);
    expect(Object.keys(state?.pki.etcdPeer ?? {})).toEqual(['life-master-1', 'life-master-2']);
  }, 30_000);

  it("removes a worker: drained, its Node deleted, container and volume removed, every other node's route to its pods dropped", async () => {
    const engine = await fakeCluster(spec(2, 2));
    expect(await removeLifeNodes(engine, ['life-worker-0'])).toEqual(['life-worker-0']);
    const drain = commands.findIndex((c) => c.startsWith('life-master-0: kubectl') && c.includes(' drain life-worker-0 --ignore-daemonsets'));
    const deleteNode = commands.findIndex((c) => c.startsWith('life-master-0: kubectl') && c.includes(' delete node life-worker-0 --ignore-not-found'));
    expect(drain).toBeGreaterThanOrEqual(0);
    expect(deleteNode).toBeGreaterThan(drain);
    expect(engine.nodes.has('life-worker-0')).toBe(false);
    expect(engine.volumes.has('life-worker-0-containerd')).toBe(false);
    expect(engine.volumes.has('life-worker-0-local-path')).toBe(false);
    for (const node of ['life-lb', 'life-master-0', 'life-master-1', 'life-worker-1']) {
      expect(commands).toContain(`${node}: ip route del 10.244.1.0/24`);
      const unit = String(engine.nodes.get(node)?.files.get('/etc/systemd/system/kc-pod-network.service')?.content);
      expect(unit).not.toContain('10.244.1.0/24 via');
    }
    const state = await loadState('life');
    expect(state?.plan.workers.map((w) => w.name)).toEqual(['life-worker-1']);
    expect(Object.keys(state?.pki.kubelets ?? {})).toEqual(['life-worker-1']);
  }, 30_000);

  it('stops every node at once, CoreDNS and the API servers told to quit first, each on its own node before it stops', async () => {
    const engine = await fakeCluster();
    commands.length = 0;
    engine.calls.length = 0;
    await stopCluster({ engine, progress: silentProgress, cluster: 'life', waitSeconds: 5 });
    expect(commands.filter((c) => c.includes('pkill') || c.includes('systemctl kill')).sort()).toEqual([
      'life-master-0: systemctl kill --signal=SIGKILL kube-apiserver.service',
      'life-master-1: systemctl kill --signal=SIGKILL kube-apiserver.service',
      'life-worker-0: pkill --signal QUIT --exact coredns',
    ]);
    for (const node of ['life-master-0', 'life-worker-0']) {
      const hurried = engine.calls.findIndex((c) => c.startsWith(`exec ${node}`));
      expect(hurried, node).toBeGreaterThanOrEqual(0);
      expect(hurried, node).toBeLessThan(engine.calls.indexOf(`stopNode ${node}`));
    }
    expect([...engine.nodes.values()].every((n) => n.state !== 'running')).toBe(true);
  }, 30_000);

  it('counts a kubelet\'s first heartbeat after the start even when it came before kc began to wait for nodes', async () => {
    // On a busy machine the kubelets post their status as soon as the API server answers, and then (nothing changing)
    // only every 5 minutes: here 1.5 s pass between the containers' start and kc's wait for nodes (the boot, then etcd).
    const engine = await fakeCluster();
    await stopCluster({ engine, progress: silentProgress, cluster: 'life', waitSeconds: 5 });
    let heartbeat = '';
    const bootedAt = Date.now() + 1500;
    scripted = (_node, line) => {
      if (line === 'systemctl is-system-running') {
        heartbeat ||= new Date().toISOString();
        return ok(Date.now() < bootedAt ? 'starting\n' : 'running\n');
      }
      return undefined;
    };
    const apiProbe = healthyApi(spec(2, 1), workersOf(spec(2, 1)), () => heartbeat);
    const result = await startCluster({ engine, registries: engine, progress: silentProgress, cluster: 'life', waitSeconds: 4, apiProbe });
    expect(result).toMatchObject({ nodes: 4, unchanged: 0 });
  }, 30_000);

  it('starts a stopped cluster: every node at once, then waits for etcd, the API server, nodes and CoreDNS', async () => {
    const engine = await fakeCluster();
    await stopCluster({ engine, progress: silentProgress, cluster: 'life', waitSeconds: 5 });
    engine.calls.length = 0;
    commands.length = 0;
    const asked: string[] = [];
    const healthy = healthyApi(spec(2, 1));
    const apiProbe: ApiProbe = (server, pki, path) => {
      asked.push(path);
      return healthy(server, pki, path);
    };
    const result = await startCluster({ engine, registries: engine, progress: silentProgress, cluster: 'life', waitSeconds: 5, apiProbe });
    expect(result).toMatchObject({ nodes: 4, unchanged: 0 });
    expect(engine.calls.filter((c) => c.startsWith('startNode')).sort()).toEqual([
      'startNode life-lb', 'startNode life-master-0', 'startNode life-master-1', 'startNode life-worker-0',
    ]);
    expect([...engine.nodes.values()].every((n) => n.state === 'running')).toBe(true);
    expect(commands.some((c) => c.startsWith('life-master-0: etcdctl') && c.endsWith(' endpoint health'))).toBe(true);
    expect(asked).toEqual(expect.arrayContaining(['/readyz', '/api/v1/nodes', '/api/v1/namespaces/kube-system/pods?labelSelector=k8s-app%3Dkube-dns']));
  }, 30_000);
});
