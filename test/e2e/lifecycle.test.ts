import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMemberList } from '../../src/cluster/lifecycle/moves/etcd.js';
import { parseServersState } from '../../src/cluster/lifecycle/moves/access.js';
import { waitUntil } from '../../src/util/poll.js';
import { etcdctlCommand } from '../../src/components/etcd.js';
import { haproxyServersStateCommand } from '../../src/components/haproxy.js';
import { DockerEngine } from '../../src/provider/docker/engine.js';
import { clusterStateFile, loadState } from '../../src/state/cluster-state.js';
import { withClusterLock } from '../../src/state/lock.js';
import { buildWebImage, kubectlFor } from './cluster-helpers.js';
import { expectOk, kc, testClusterName } from './helpers.js';
import { adminAccess as adminAccessOf, startApiLoad, withBusyCores, type Sample } from './api-load.js';
import { execOrThrow } from '../../src/provider/provider.js';

/**
 * A cluster that grows, shrinks, sleeps and wakes: 2 masters + 1 worker,
 * then a worker and a master added, a master killed under load, a master and
 * a worker removed, a stop and a start. Every check is a real request.
 */
const execFileAsync = promisify(execFile);
const NAME = testClusterName('life');
const CONTEXT = `kc-${NAME}`;
const WEB_IMAGE = 'kc-e2e/web:1';
const FOREIGN = `${NAME}x-worker-0`;
const engine = new DockerEngine();
let dir: string;
let kubeconfig: string;
let kubectl: ReturnType<typeof kubectlFor>;

async function plan() {
  const state = await loadState(NAME);
  if (!state) throw new Error(`no state for ${NAME}`);
  return state.plan;
}

/** etcd's members, asked on a master that is up. */
async function etcdMembers(via: string) {
  const p = await plan();
  return parseMemberList(await execOrThrow(engine, via, etcdctlCommand(p, ['member', 'list', '-w', 'json'], 'https://127.0.0.1:2379')));
}

async function etcdLeader(via: string): Promise<string> {
  const p = await plan();
  const out = await execOrThrow(engine, via, etcdctlCommand(p, ['endpoint', 'status', '-w', 'json']));
  const statuses = JSON.parse(out) as { Endpoint: string; Status: { header: { member_id: number }; leader: number } }[];
  const leader = statuses.find((s) => s.Status.header.member_id === s.Status.leader);
  const name = /https:\/\/([^:]+):/.exec(leader?.Endpoint ?? '')?.[1];
  if (!name) throw new Error(`no etcd leader in ${out}`);
  return name;
}

async function haproxyServers(): Promise<Map<string, boolean>> {
  return parseServersState(await execOrThrow(engine, `${NAME}-lb`, haproxyServersStateCommand()));
}

async function waitForBackendsUp(count: number): Promise<void> {
  await waitUntil(
    `HAProxy to have ${count} backends up`,
    async () => {
      const servers = await haproxyServers();
      const up = [...servers.values()].filter(Boolean).length;
      return (servers.size === count && up === count) || `${up} of ${servers.size} up`;
    },
    { timeoutMs: 120_000, intervalMs: 250 },
  );
}

/** The admin credentials and API server URL of the test cluster, from the kubeconfig kc wrote. */
const adminAccess = () => adminAccessOf(kubeconfig, CONTEXT);

/**
 * Reads and writes through the lb, each started every 100 ms whatever the
 * ones before are doing (so a hanging request does not hide what comes
 * after), while `container` is killed; returns every request and the kill time.
 */
async function loadWhileKilling(container: string): Promise<{ samples: Sample[]; killStarted: number; killedAt: number; haproxyLog: string }> {
  const load = startApiLoad(await adminAccess());
  // The load runs for 2 s before the kill, so the samples show the normal state as well.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  // The kill takes a moment: until the container is gone its kernel still accepts connections that its dead
  // processes then reset. "In flight at the kill" is every request running between the signal and the end.
  const killStarted = Date.now();
  await execFileAsync('docker', ['kill', container]);
  await execFileAsync('docker', ['wait', container]);
  const killedAt = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  const samples = await load.stop();
  // HAProxy's own account of the sessions that did not end normally, to say why a request failed.
  const log = await execOrThrow(engine, `${NAME}-lb`, ['journalctl', '-u', 'haproxy', '-o', 'cat', '--no-pager', '--since', `@${Math.floor(killedAt / 1000) - 3}`]);
  const haproxyLog = log.split('\n').filter((line) => / masters\/\S+ \S+ \d+ (?!--)\S\S/.test(line) || line.includes('is DOWN')).join('\n');
  return { samples, killStarted, killedAt, haproxyLog };
}

/** Runs `work`, which kills `master`, then starts it again and waits for HAProxy to use it: the next test gets the cluster whole, whatever happened. */
async function restartingAfter<T>(master: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    await execFileAsync('docker', ['start', master]);
    await waitForBackendsUp(3);
  }
}

function summary(samples: Sample[], killedAt: number): string {
  const failed = samples.filter((s) => !s.ok).map((s) => `${s.kind} from ${s.started - killedAt} to ${s.ended - killedAt}ms: ${s.error}`);
  const firstWrite = firstWriteAfter(samples, killedAt);
  return `${samples.length} requests, ${failed.length} failed${failed.length ? ` (${failed.join('; ')})` : ''}; first write after the kill done at +${firstWrite}ms (times from the container's end)`;
}

/** When the first write started after the kill succeeded, in ms after the kill. */
function firstWriteAfter(samples: Sample[], killedAt: number): number {
  const ends = samples.filter((s) => s.kind === 'write' && s.ok && s.started >= killedAt).map((s) => s.ended - killedAt);
  return ends.length > 0 ? Math.min(...ends) : Number.POSITIVE_INFINITY;
}

function podManifest(name: string, node: string, labels: Record<string, string>): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels },
    spec: { nodeName: node, containers: [{ name: 'web', image: WEB_IMAGE, imagePullPolicy: 'Never', args: ['serve'], ports: [{ containerPort: 8080 }] }] },
  };
}

async function fetchFromPod(pod: string, url: string): Promise<string> {
  return kubectl(['exec', pod, '--', '/kc-web', 'get', url]);
}

/** What must not change when kc refuses a command: the state file, the containers and their states. */
async function snapshot(): Promise<string> {
  const containers = await engine.listNodes({ 'dev.kc.cluster': NAME });
  const listed = containers.map((c) => `${c.name}=${c.state}`).sort().join(',');
  return `${await readFile(clusterStateFile(NAME), 'utf8')}\n${listed}`;
}

async function expectRefused(args: string[], message: string | RegExp, before: string): Promise<void> {
  const result = await kc(args);
  expect(result.code, `kc ${args.join(' ')}: ${result.stderr}`).not.toBe(0);
  expect(result.stderr).toMatch(message);
  expect(await snapshot()).toBe(before);
}

describe('a cluster that lives: add and remove nodes, stop and start', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kc-life-'));
    kubeconfig = join(dir, 'kubeconfig');
    kubectl = kubectlFor(kubeconfig, CONTEXT);
    await kc(['delete', 'cluster', '--name', NAME]);
    await buildWebImage(WEB_IMAGE);
    await expectOk(['create', 'cluster', '--name', NAME, '--control-planes', '2', '--workers', '1', '--kubeconfig', kubeconfig]);
    await expectOk(['load', 'docker-image', WEB_IMAGE, '--name', NAME]);
  }, 600_000);

  afterAll(async () => {
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    await execFileAsync('docker', ['rm', '-f', FOREIGN]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('adds a worker: Ready, its pods reach the old worker by pod IP, and a Service it alone backs answers there', async () => {
    const added = await expectOk(['create', 'node', '--name', NAME, '--role', 'worker']);
    expect(added.stderr).toMatch(new RegExp(`Added ${NAME}-worker-1 to cluster "${NAME}" \\(\\d+\\.\\ds\\)`));
    const nodes = JSON.parse((await expectOk(['get', 'nodes', '--name', NAME, '--json'])).stdout) as { name: string; role: string; status: string }[];
    expect(nodes.map((n) => `${n.name}:${n.role}:${n.status}`)).toContain(`${NAME}-worker-1:worker:running`);
    expect((await kubectl(['get', 'node', `${NAME}-worker-1`, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).trim()).toBe('True');

    await expectOk(['load', 'docker-image', WEB_IMAGE, '--name', NAME, '--nodes', `${NAME}-worker-1`]);
    const service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'new-only', namespace: 'default' },
      spec: { selector: { app: 'new' }, ports: [{ port: 8080 }] },
    };
    await kubectl(['apply', '-f', '-'], [podManifest('new-server', `${NAME}-worker-1`, { app: 'new' }), podManifest('old-client', `${NAME}-worker-0`, { app: 'old' }), service].map((d) => stringify(d)).join('---\n'));
    await kubectl(['wait', '--for=condition=Ready', 'pod/new-server', 'pod/old-client', '--timeout=120s']);
    const newIp = (await kubectl(['get', 'pod', 'new-server', '-o', 'jsonpath={.status.podIP}'])).trim();
    expect(newIp.startsWith('10.244.2.')).toBe(true);
    expect(await fetchFromPod('old-client', `http://${newIp}:8080/`)).toBe('hello from new-server\n');
    const oldIp = (await kubectl(['get', 'pod', 'old-client', '-o', 'jsonpath={.status.podIP}'])).trim();
    expect(await fetchFromPod('new-server', `http://${oldIp}:8080/`)).toBe('hello from old-client\n');
    // kube-proxy on the old worker programs the new Service within its sync: polled, not slept.
    let body = '';
    await waitUntil('the new-only Service to answer from the old worker', async () => {
      body = await fetchFromPod('old-client', 'http://new-only.default.svc.cluster.local:8080/');
      return true;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(body).toBe('hello from new-server\n');
  }, 300_000);

  it('adds a master: 3 voting etcd members, 3 HAProxy backends; a killed master costs at most the requests in flight', async () => {
    await expectOk(['create', 'node', '--name', NAME, '--role', 'master']);
    const members = await etcdMembers(`${NAME}-master-0`);
    expect(members.map((m) => `${m.name}:${m.isLearner ? 'learner' : 'voter'}`).sort()).toEqual([`${NAME}-master-0:voter`, `${NAME}-master-1:voter`, `${NAME}-master-2:voter`]);
    await waitForBackendsUp(3);

    // Both cores busy for the whole of each kill, as on a loaded CI runner: a live master that answers late must not be taken for a dead one.
    // A master that is not etcd's leader: HAProxy must route around it without losing a request that starts after the kill.
    const leader = await etcdLeader(`${NAME}-master-0`);
    const victim = [`${NAME}-master-0`, `${NAME}-master-1`, `${NAME}-master-2`].find((m) => m !== leader) ?? '';
    const follower = await restartingAfter(victim, () => withBusyCores(() => loadWhileKilling(victim)));
    process.stderr.write(`  killed ${victim} (etcd follower, both cores busy): ${summary(follower.samples, follower.killedAt)}\n${follower.haproxyLog}\n`);
    const inFlight = follower.samples.filter((s) => s.started < follower.killedAt && s.ended > follower.killStarted).length;
    const failed = follower.samples.filter((s) => !s.ok);
    expect(failed.every((s) => s.started < follower.killedAt), `${summary(follower.samples, follower.killedAt)}\n${follower.haproxyLog}`).toBe(true);
    expect(failed.length).toBeLessThanOrEqual(inFlight);
    // From the container's end: on a busy machine dockerd itself took 5.7 s to kill a container (signal to `docker wait`).
    expect(firstWriteAfter(follower.samples, follower.killedAt)).toBeLessThan(5000);

    // etcd's leader: writes its followers forwarded in the moment before they noticed are lost with it (Raft), the rest go on;
    // reads are served by the surviving API servers through the election.
    const leaderRun = await restartingAfter(leader, () => withBusyCores(() => loadWhileKilling(leader)));
    process.stderr.write(`  killed ${leader} (etcd leader, both cores busy): ${summary(leaderRun.samples, leaderRun.killedAt)}\n${leaderRun.haproxyLog}\n`);
    const failedReads = leaderRun.samples.filter((s) => s.kind === 'read' && !s.ok && s.started >= leaderRun.killedAt);
    expect(failedReads, `${summary(leaderRun.samples, leaderRun.killedAt)}\n${leaderRun.haproxyLog}`).toEqual([]);
    expect(firstWriteAfter(leaderRun.samples, leaderRun.killedAt)).toBeLessThan(5000);
    expect(leaderRun.samples.filter((s) => !s.ok && s.started >= leaderRun.killedAt + 5000)).toEqual([]);
  }, 400_000);

  it('removes a master: etcd back to 2 members, HAProxy to 2 backends, and the cluster keeps serving', async () => {
    const removed = await expectOk(['delete', 'node', `${NAME}-master-2`, '--name', NAME]);
    expect(removed.stderr).toContain('etcd will have 2 members: it cannot survive the loss of another master');
    expect((await etcdMembers(`${NAME}-master-0`)).map((m) => m.name).sort()).toEqual([`${NAME}-master-0`, `${NAME}-master-1`]);
    expect([...(await haproxyServers()).keys()].sort()).toEqual([`${NAME}-master-0`, `${NAME}-master-1`]);
    await waitForBackendsUp(2);
    expect(await kubectl(['create', 'configmap', 'after-master-removal', '--from-literal=ok=yes'])).toContain('created');
    const slices = await kubectl(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=kubernetes', '-o', 'jsonpath={.items[*].endpoints[*].addresses[*]}']);
    expect(slices.split(/\s+/).filter(Boolean)).toHaveLength(2);
  }, 300_000);

  it('removes a worker: its pods come back on the other worker, and no NotReady node remains', async () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'spread', namespace: 'default' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'spread' } },
        template: {
          metadata: { labels: { app: 'spread' } },
          spec: {
            topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'spread' } } }],
            containers: [{ name: 'web', image: WEB_IMAGE, imagePullPolicy: 'Never', args: ['serve'] }],
          },
        },
      },
    };
    await kubectl(['apply', '-f', '-'], stringify(deployment));
    await kubectl(['rollout', 'status', 'deployment/spread', '--timeout=120s']);
    const nodesOfPods = async () => (await kubectl(['get', 'pods', '-l', 'app=spread', '-o', 'jsonpath={.items[*].spec.nodeName}'])).split(' ').filter(Boolean).sort();
    expect(await nodesOfPods()).toEqual([`${NAME}-worker-0`, `${NAME}-worker-1`]);

    // The spread constraint is DoNotSchedule: the drain's eviction must wait for nothing, the new pod goes where room is.
    await kubectl(['patch', 'deployment', 'spread', '--type', 'merge', '-p', JSON.stringify({ spec: { template: { spec: { topologySpreadConstraints: [] } } } })]);
    await kubectl(['rollout', 'status', 'deployment/spread', '--timeout=120s']);
    // old-client is a bare pod: draining would lose it, so kc refuses and uncordons the node again.
    const refused = await kc(['delete', 'node', `${NAME}-worker-0`, '--name', NAME]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Pods that no controller recreates would be lost');
    expect(refused.stderr).toContain('the cluster is as it was');
    expect((await kubectl(['get', 'node', `${NAME}-worker-0`, '-o', 'jsonpath={.spec.unschedulable}'])).trim()).toBe('');
    await kubectl(['delete', 'pod', 'old-client']);
    await expectOk(['delete', 'node', `${NAME}-worker-0`, '--name', NAME]);
    await kubectl(['rollout', 'status', 'deployment/spread', '--timeout=120s']);
    expect(await nodesOfPods()).toEqual([`${NAME}-worker-1`, `${NAME}-worker-1`]);
    const nodes = await kubectl(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}']);
    expect(nodes.trim()).toBe(`${NAME}-worker-1=True`);
    expect(await engine.inspectNode(`${NAME}-worker-0`)).toBeUndefined();
  }, 300_000);

  it('refuses bad input, and the cluster stays as it was', async () => {
    await execFileAsync('docker', ['create', '--name', FOREIGN, '--label', `dev.kc.cluster=${NAME}x`, WEB_IMAGE, 'serve']);
    const before = await snapshot();
    await expectRefused(['create', 'node', '--name', `${NAME}-nope`, '--role', 'worker'], `no cluster named "${NAME}-nope": kc get clusters lists them`, before);
    await expectRefused(['delete', 'node', `${NAME}-worker-7`, '--name', NAME], `cluster "${NAME}" has no node ${NAME}-worker-7; its masters and workers:`, before);
    await expectRefused(['delete', 'node', FOREIGN, '--name', NAME], `${FOREIGN} belongs to cluster "${NAME}x", not "${NAME}"`, before);
    await expectRefused(['delete', 'node', `${NAME}-worker-1`, '--name', NAME], 'would leave cluster', before);
    await expectRefused(['delete', 'node', `${NAME}-master-0`, `${NAME}-master-1`, '--name', NAME], 'without a master', before);
    await expectRefused(['create', 'node', '--name', NAME, '--role', 'worker', '--count', '0'], '--count 0 is not a number of nodes to add', before);
    await expectRefused(['create', 'node', '--name', NAME], 'role', before);
    // Another kc command holds the cluster's lock (as a running create node would): this one says so and changes nothing.
    await withClusterLock(NAME, async () => {
      await expectRefused(['create', 'node', '--name', NAME, '--role', 'worker'], `another kc command is changing cluster "${NAME}" right now`, before);
      await expectRefused(['stop', 'cluster', '--name', NAME], `another kc command is changing cluster "${NAME}" right now`, before);
    });
  }, 300_000);

  it('stops and starts: data kept, the API on the same host port, and no node change while stopped', async () => {
    await kubectl(['create', 'configmap', 'before-stop', '--from-literal=kept=yes']);
    const server = (await adminAccess()).server;
    const stopped = await expectOk(['stop', 'cluster', '--name', NAME]);
    expect(stopped.stderr).toMatch(new RegExp(`Stopped cluster "${NAME}": 4 nodes in \\d+\\.\\ds`));
    const clusters = JSON.parse((await expectOk(['get', 'clusters', '--json'])).stdout) as { name: string; status: string }[];
    expect(clusters.find((c) => c.name === NAME)?.status).toBe('stopped');
    const nodes = JSON.parse((await expectOk(['get', 'nodes', '--name', NAME, '--json'])).stdout) as { status: string }[];
    expect(nodes.map((n) => n.status)).toEqual(['stopped', 'stopped', 'stopped', 'stopped']);
    const before = await snapshot();
    await expectRefused(['create', 'node', '--name', NAME, '--role', 'worker'], `cluster "${NAME}" is stopped`, before);

    const started = await expectOk(['start', 'cluster', '--name', NAME]);
    expect(started.stderr).toMatch(new RegExp(`Started cluster "${NAME}": 4 nodes in \\d+\\.\\ds`));
    expect((await adminAccess()).server).toBe(server);
    expect((await kubectl(['get', 'configmap', 'before-stop', '-o', 'jsonpath={.data.kept}'])).trim()).toBe('yes');
    const after = JSON.parse((await expectOk(['get', 'clusters', '--json'])).stdout) as { name: string; status: string }[];
    expect(after.find((c) => c.name === NAME)?.status).toBe('running');
    expect(await kubectl(['create', 'configmap', 'after-start'])).toContain('created');
  }, 400_000);
});
