import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../../src/util/poll.js';
import { DockerEngine } from '../../src/provider/docker/engine.js';
import { buildWebImage, kubectlFor } from './cluster-helpers.js';
import { kc, testClusterName } from './helpers.js';
import { execOrThrow } from '../../src/provider/provider.js';

/**
 * NetworkPolicy on a default cluster (bridge network, kube-router's policy
 * controller): every check is a real HTTP request from one pod to another,
 * polled until the expected outcome shows, so "within seconds" is measured,
 * not slept.
 */
const NAME = testClusterName('np-policy');
const CONTEXT = `kc-${NAME}`;
const WEB_IMAGE = 'kc-e2e/web:1';
const WORKER_0 = `${NAME}-worker-0`;
const WORKER_1 = `${NAME}-worker-1`;
/** Enforcement (or its removal) must show within this; the polls report how long it really took. */
const ENFORCED_WITHIN_MS = 30_000;

const engine = new DockerEngine();
let dir: string;
let kubeconfig: string;
let kubectl: ReturnType<typeof kubectlFor>;

interface PodSpec {
  namespace: string;
  name: string;
  node: string;
  labels?: Record<string, string>;
}

/** The test pods: a web server, clients on the same and the other worker, and pods in other namespaces. */
const PODS: PodSpec[] = [
  { namespace: 'np', name: 'server', node: WORKER_0, labels: { app: 'server' } },
  { namespace: 'np', name: 'client-remote', node: WORKER_1, labels: { role: 'client' } },
  { namespace: 'np', name: 'client-local', node: WORKER_0, labels: { role: 'client' } },
  { namespace: 'np', name: 'stranger', node: WORKER_0 },
  { namespace: 'np-friends', name: 'friend', node: WORKER_1 },
  { namespace: 'np-out', name: 'web-a', node: WORKER_0, labels: { app: 'web' } },
  { namespace: 'np-out', name: 'web-b', node: WORKER_1, labels: { app: 'web' } },
  { namespace: 'np-out', name: 'leaver', node: WORKER_1, labels: { role: 'leaver' } },
];

function podManifest(pod: PodSpec): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: pod.name, namespace: pod.namespace, labels: pod.labels ?? {} },
    spec: {
      nodeName: pod.node,
      // Always: the pods come back after their node restarts.
      restartPolicy: 'Always',
      containers: [{ name: 'web', image: WEB_IMAGE, imagePullPolicy: 'Never', args: ['serve'], ports: [{ containerPort: 8080 }] }],
    },
  };
}

function namespaceManifest(name: string, labels: Record<string, string> = {}): object {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

async function apply(...documents: object[]): Promise<void> {
  await kubectl(['apply', '-f', '-'], documents.map((d) => stringify(d)).join('---\n'));
}

async function podIp(namespace: string, name: string): Promise<string> {
  return (await kubectl(['-n', namespace, 'get', 'pod', name, '-o', 'jsonpath={.status.podIP}'])).trim();
}

/**
 * One HTTP request from a pod to `ip`:8080 (the client gives up after 5 s).
 * Only a failed request counts as "blocked": a failing `kubectl exec` itself
 * is an error, so a broken test never passes for a blocked connection.
 */
async function reaches(from: PodSpec, ip: string): Promise<boolean> {
  try {
    const body = await kubectl(['-n', from.namespace, 'exec', from.name, '--', '/kc-web', 'get', `http://${ip}:8080/`]);
    if (!body.startsWith('hello from ')) throw new Error(`unexpected answer from ${ip}: ${body}`);
    return true;
  } catch (error) {
    const message = (error as Error & { stderr?: string }).stderr ?? (error as Error).message;
    if (/Get "http:\/\/[\d.]+:8080\/"/.test(message)) return false;
    throw error;
  }
}

/** Each test pod's container restart count and readiness, by namespace/name. */
async function restartCounts(): Promise<Map<string, { restarts: number; ready: boolean }>> {
  const counts = new Map<string, { restarts: number; ready: boolean }>();
  for (const namespace of ['np', 'np-friends', 'np-out']) {
    const out = await kubectl([
      '-n', namespace, 'get', 'pods', '-o',
      'jsonpath={range .items[*]}{.metadata.name} {.status.containerStatuses[0].restartCount} {.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
    ]);
    for (const line of out.split('\n').filter(Boolean)) {
      const [name = '', restarts = '0', ready = ''] = line.split(' ');
      counts.set(`${namespace}/${name}`, { restarts: Number(restarts), ready: ready === 'True' });
    }
  }
  return counts;
}

/** Polls until `from` reaches (or is blocked from) `ip`; returns how long that took. */
async function expectReach(from: PodSpec, ip: string, expected: boolean, what: string): Promise<number> {
  const started = Date.now();
  await waitUntil(
    `${from.namespace}/${from.name} ${expected ? 'to reach' : 'to be blocked from'} ${what} (${ip})`,
    async () => (await reaches(from, ip)) === expected || 'not yet',
    { timeoutMs: ENFORCED_WITHIN_MS, intervalMs: 250 },
  );
  const ms = Date.now() - started;
  process.stderr.write(`  ${from.namespace}/${from.name} ${expected ? 'reaches' : 'blocked from'} ${what} after ${(ms / 1000).toFixed(1)}s\n`);
  return ms;
}

const pod = (name: string): PodSpec => {
  const found = PODS.find((p) => p.name === name);
  if (!found) throw new Error(`no test pod ${name}`);
  return found;
};

const DENY_ALL_INGRESS = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'deny-all-ingress', namespace: 'np' },
  spec: { podSelector: {}, policyTypes: ['Ingress'] },
};

const ALLOW_CLIENTS_AND_FRIENDS = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'allow-clients-and-friends', namespace: 'np' },
  spec: {
    podSelector: { matchLabels: { app: 'server' } },
    policyTypes: ['Ingress'],
    ingress: [
      {
        from: [{ podSelector: { matchLabels: { role: 'client' } } }, { namespaceSelector: { matchLabels: { team: 'friends' } } }],
        ports: [{ protocol: 'TCP', port: 8080 }],
      },
    ],
  },
};

describe('NetworkPolicy on a default cluster (kube-router beside the bridge network)', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kc-np-'));
    kubeconfig = join(dir, 'kubeconfig');
    kubectl = kubectlFor(kubeconfig, CONTEXT);
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    const created = await kc(['create', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    process.stderr.write(created.stderr);
    expect(created.code, created.stderr).toBe(0);
    await buildWebImage(WEB_IMAGE);
    const loaded = await kc(['load', 'docker-image', WEB_IMAGE, '--name', NAME]);
    expect(loaded.code, loaded.stderr).toBe(0);
    await apply(namespaceManifest('np'), namespaceManifest('np-friends', { team: 'friends' }), namespaceManifest('np-out'), ...PODS.map(podManifest));
    for (const namespace of ['np', 'np-friends', 'np-out']) {
      await kubectl(['-n', namespace, 'wait', '--for=condition=Ready', 'pods', '--all', '--timeout=180s']);
    }
  });

  afterAll(async () => {
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    await rm(dir, { recursive: true, force: true });
  });

  it('runs kube-router on every worker as its own unit, and lets everything through while no policy exists', async () => {
    for (const worker of [WORKER_0, WORKER_1]) {
      expect((await execOrThrow(engine, worker, ['systemctl', 'is-active', 'kube-router'])).trim(), worker).toBe('active');
      expect((await execOrThrow(engine, worker, ['sysctl', '-n', 'net.bridge.bridge-nf-call-iptables'])).trim(), worker).toBe('1');
    }
    const server = await podIp('np', 'server');
    for (const from of ['client-remote', 'client-local', 'stranger', 'friend']) expect(await reaches(pod(from), server), from).toBe(true);
  });

  it('blocks traffic to every pod of a namespace with deny-all ingress, across workers and on the same worker', async () => {
    await apply(DENY_ALL_INGRESS);
    const server = await podIp('np', 'server');
    await expectReach(pod('client-remote'), server, false, 'server on the other worker');
    await expectReach(pod('client-local'), server, false, 'server on the same worker');
    await expectReach(pod('friend'), server, false, 'server from another namespace');
    // Pods the policy does not select are untouched.
    expect(await reaches(pod('web-a'), await podIp('np-out', 'web-b'))).toBe(true);
  });

  it('re-opens it for pods and namespaces an allow rule selects, and only for them', async () => {
    await apply(ALLOW_CLIENTS_AND_FRIENDS);
    const server = await podIp('np', 'server');
    await expectReach(pod('client-remote'), server, true, 'server (podSelector, other worker)');
    await expectReach(pod('client-local'), server, true, 'server (podSelector, same worker)');
    await expectReach(pod('friend'), server, true, 'server (namespaceSelector)');
    expect(await reaches(pod('stranger'), server), 'stranger, same worker, not selected').toBe(false);
  });

  it('enforces an ipBlock ingress rule', async () => {
    const server = await podIp('np', 'server');
    const stranger = await podIp('np', 'stranger');
    await apply({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-stranger-by-address', namespace: 'np' },
      spec: { podSelector: { matchLabels: { app: 'server' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: `${stranger}/32` } }] }] },
    });
    await expectReach(pod('stranger'), server, true, 'server (ipBlock of its own address)');
    await kubectl(['-n', 'np', 'delete', 'networkpolicy', 'allow-stranger-by-address']);
    await expectReach(pod('stranger'), server, false, 'server (ipBlock rule removed)');
  });

  it('enforces an egress rule with an ipBlock: only the allowed address is reachable', async () => {
    const webA = await podIp('np-out', 'web-a');
    const webB = await podIp('np-out', 'web-b');
    expect(await reaches(pod('leaver'), webB)).toBe(true);
    await apply({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'leaver-egress-to-web-a', namespace: 'np-out' },
      spec: {
        podSelector: { matchLabels: { role: 'leaver' } },
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: `${webA}/32` } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
      },
    });
    await expectReach(pod('leaver'), webB, false, 'web-b (egress not allowed, same worker)');
    await expectReach(pod('leaver'), webA, true, 'web-a (egress ipBlock, other worker)');
    // Egress of the other pods stays open.
    expect(await reaches(pod('web-b'), webA)).toBe(true);
  });

  it('still enforces every policy after every node container restarts', async () => {
    const nodes = [`${NAME}-lb`, `${NAME}-master-0`, `${NAME}-master-1`, WORKER_0, WORKER_1];
    const restartsBefore = await restartCounts();
    await Promise.all(nodes.map(async (node) => {
      await engine.stopNode(node, 5);
      await engine.startNode(node);
    }));
    await waitUntil('the API server after the restart', async () => (await kubectl(['get', '--raw', '/readyz'])).trim() === 'ok', { timeoutMs: 180_000 });
    await kubectl(['wait', '--for=condition=Ready', 'nodes', '--all', '--timeout=180s']);
    // Until kubelet has restarted a pod, its status still shows the address it had
    // before, which the restart may have given to another pod: wait for every pod's new life.
    await waitUntil('every test pod to run again after the restart', async () => {
      const now = await restartCounts();
      const waiting = PODS.filter((p) => !((now.get(`${p.namespace}/${p.name}`)?.restarts ?? 0) > (restartsBefore.get(`${p.namespace}/${p.name}`)?.restarts ?? 0) && now.get(`${p.namespace}/${p.name}`)?.ready));
      return waiting.length === 0 || `waiting for ${waiting.map((p) => p.name).join(', ')}`;
    }, { timeoutMs: 180_000, intervalMs: 1000 });
    const server = await podIp('np', 'server');
    await expectReach(pod('client-remote'), server, true, 'server after the restart (allowed)');
    await expectReach(pod('stranger'), server, false, 'server after the restart (denied, same worker)');
    await expectReach(pod('leaver'), await podIp('np-out', 'web-b'), false, 'web-b after the restart (egress denied)');
    expect(await reaches(pod('friend'), server), 'friend (namespaceSelector) after the restart').toBe(true);
  });

  it('stops enforcing once the policies are deleted', async () => {
    await kubectl(['-n', 'np', 'delete', 'networkpolicy', '--all']);
    await expectReach(pod('stranger'), await podIp('np', 'server'), true, 'server (no policy left)');
  });
});
