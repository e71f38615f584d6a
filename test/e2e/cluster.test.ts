import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterStateDir } from '../../src/state/cluster-state.js';
import { DockerEngine } from '../../src/provider/docker/engine.js';
import { PATHS } from '../../src/components/paths.js';
import { waitUntil } from '../../src/util/poll.js';
import { kc, testClusterName } from './helpers.js';
import { buildWebImage, clusterResources, httpGet, httpGetOnceServing, kubectlFor, startPortForward } from './cluster-helpers.js';
import { execOrThrow } from '../../src/provider/provider.js';

const NAME = testClusterName('e2e');
const CONTEXT = `kc-${NAME}`;
const WEB_IMAGE = 'kc-e2e/web:1';
const engine = new DockerEngine();
let dir: string;
let kubeconfig: string;
let kubectl: ReturnType<typeof kubectlFor>;

async function inNode(node: string, ...command: string[]): Promise<string> {
  return execOrThrow(engine, node, command);
}

describe('kc create cluster (default topology: lb, 2 masters, 2 workers)', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kc-e2e-'));
    kubeconfig = join(dir, 'kubeconfig');
    kubectl = kubectlFor(kubeconfig, CONTEXT);
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    const created = await kc(['create', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    process.stderr.write(created.stderr);
    expect(created.code, created.stderr).toBe(0);
  });

  afterAll(async () => {
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a kubeconfig context (mode 0600) that reaches every Ready node through the lb', async () => {
    expect((await stat(kubeconfig)).mode & 0o777).toBe(0o600);
    const config = new k8s.KubeConfig();
    config.loadFromFile(kubeconfig);
    config.setCurrentContext(CONTEXT);
    const nodes = await config.makeApiClient(k8s.CoreV1Api).listNode();
    const names = nodes.items.map((n) => n.metadata?.name).sort();
    expect(names).toEqual([`${NAME}-worker-0`, `${NAME}-worker-1`]);
    for (const node of nodes.items) {
      const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
      expect(ready?.status, node.metadata?.name).toBe('True');
    }
    expect((await kubectl(['get', '--raw', '/readyz'])).trim()).toBe('ok');
  });

  it('lists its certificates (kc get certificates), and the API server serves the very one listed', async () => {
    const listed = await kc(['get', 'certificates', '--name', NAME, '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const entries = JSON.parse(listed.stdout) as Array<{ name: string; subject: string; nodes: string[]; notAfter: string; daysLeft: number }>;
    expect(entries.filter((e) => e.name === 'kubelet').flatMap((e) => e.nodes).sort()).toEqual([`${NAME}-worker-0`, `${NAME}-worker-1`]);
    expect(entries.every((e) => e.daysLeft >= 364)).toBe(true);
    // What the lb forwards to: an API server's serving certificate, the one the inventory lists.
    const config = new k8s.KubeConfig();
    config.loadFromFile(kubeconfig);
    config.setCurrentContext(CONTEXT);
    const { hostname, port } = new URL(config.getCurrentCluster()?.server ?? '');
    const served = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: hostname, port: Number(port), rejectUnauthorized: false }, () => {
        resolve(socket.getPeerCertificate().valid_to);
        socket.end();
      });
      socket.on('error', reject);
    });
    const apiServer = entries.find((e) => e.name === 'kube-apiserver');
    expect(new Date(served).toISOString().slice(0, 19)).toBe(apiServer?.notAfter.slice(0, 19));
  });

  it('has controller-manager and scheduler holding their leader leases', async () => {
    for (const lease of ['kube-controller-manager', 'kube-scheduler']) {
      const holder = await kubectl(['-n', 'kube-system', 'get', 'lease', lease, '-o', 'jsonpath={.spec.holderIdentity}']);
      expect(holder, lease).toMatch(new RegExp(`^${NAME}-master-\\d`));
    }
  });

  it('stores Secrets encrypted in etcd', async () => {
    await kubectl(['create', 'secret', 'generic', 'kc-secret', '--from-literal=password=plain-text-value']);
    // The stored value is binary: keep its printable characters to read the envelope prefix.
    const text = await inNode(
      `${NAME}-master-0`,
      'sh', '-c',
      `etcdctl --endpoints=https://127.0.0.1:2379 --cacert=${PATHS.etcdPki}/ca.crt --cert=${PATHS.etcdPki}/server.crt --key=${PATHS.etcdPki}/server.key get /registry/secrets/default/kc-secret --print-value-only | tr -c '[:print:]' '.'`,
    );
    expect(text).toMatch(/^k8s:enc:aescbc:v1:key1:/);
    expect(text).not.toContain('plain-text-value');
  });

  it('runs a locally built image loaded without a registry; logs, exec and port-forward work', async () => {
    await buildWebImage(WEB_IMAGE);
    const loaded = await kc(['load', 'docker-image', WEB_IMAGE, '--name', NAME]);
    expect(loaded.code, loaded.stderr).toBe(0);
    await kubectl(['create', 'deployment', 'web', `--image=${WEB_IMAGE}`, '--replicas=2', '--port=8080']);
    await kubectl(['rollout', 'status', 'deployment/web', '--timeout=180s']);
    await kubectl(['exec', 'deploy/web', '--', '/kc-web', 'get', 'http://127.0.0.1:8080/from-exec']);
    expect(await kubectl(['exec', 'deploy/web', '--', '/kc-web', 'get', 'http://127.0.0.1:8080/'])).toMatch(/^hello from web-/);
    const logs = await kubectl(['logs', 'deploy/web']);
    expect(logs).toContain('listening on :8080');
    const forward = await startPortForward(kubeconfig, CONTEXT, 'deploy/web', 8080);
    try {
      expect(await httpGet(`http://127.0.0.1:${forward.port}/`)).toMatch(/^hello from web-/);
    } finally {
      forward.child.kill();
    }
  });

  it('answers a Service from another pod, by DNS name through CoreDNS, and as a NodePort', async () => {
    await kubectl(['expose', 'deployment', 'web', '--port=80', '--target-port=8080', '--type=NodePort']);
    await kubectl(['run', 'client', `--image=${WEB_IMAGE}`, '--restart=Never', '--', 'serve']);
    await kubectl(['wait', '--for=condition=Ready', 'pod/client', '--timeout=120s']);
    const dns = await kubectl(['exec', 'client', '--', '/kc-web', 'lookup', 'web.default.svc.cluster.local']);
    const clusterIp = (await kubectl(['get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    expect(dns.trim()).toBe(clusterIp);
    expect(await kubectl(['exec', 'client', '--', '/kc-web', 'get', 'http://web.default.svc.cluster.local/'])).toMatch(/^hello from web-/);
    expect(await kubectl(['exec', 'client', '--', '/kc-web', 'get', `http://${clusterIp}/`])).toMatch(/^hello from web-/);
    // Pod to pod, across workers too, without NAT: each web pod sees the client's own address.
    const clientIp = (await kubectl(['get', 'pod', 'client', '-o', 'jsonpath={.status.podIP}'])).trim();
    for (const ip of (await kubectl(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].status.podIP}'])).trim().split(' ')) {
      expect((await kubectl(['exec', 'client', '--', '/kc-web', 'get', `http://${ip}:8080/remote`])).trim(), ip).toBe(clientIp);
    }
    const nodePort = (await kubectl(['get', 'service', 'web', '-o', 'jsonpath={.spec.ports[0].nodePort}'])).trim();
    const workerIp = (await kubectl(['get', 'node', `${NAME}-worker-1`, '-o', 'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}'])).trim();
    expect(await httpGetOnceServing(`http://${workerIp}:${nodePort}/`)).toMatch(/^hello from web-/);
  });

  it('keeps serving reads and writes through the lb with one API server stopped', async () => {
    await inNode(`${NAME}-master-0`, 'systemctl', 'stop', 'kube-apiserver');
    try {
      for (let i = 0; i < 10; i++) {
        expect(await kubectl(['get', 'nodes', '-o', 'name'])).toContain(`node/${NAME}-worker-0`);
        await kubectl(['create', 'configmap', `ha-${i}`, `--from-literal=i=${i}`]);
        expect((await kubectl(['get', 'configmap', `ha-${i}`, '-o', 'jsonpath={.data.i}'])).trim()).toBe(String(i));
      }
    } finally {
      await inNode(`${NAME}-master-0`, 'systemctl', 'start', 'kube-apiserver');
    }
  });

  it('comes back after every node container restarts: same addresses, same API port, same certificates', async () => {
    const nodes = [`${NAME}-lb`, `${NAME}-master-0`, `${NAME}-master-1`, `${NAME}-worker-0`, `${NAME}-worker-1`];
    const addresses = async () => Promise.all(nodes.map(async (n) => (await engine.inspectNode(n))?.NetworkSettings.Networks[`kc-${NAME}`]?.IPAddress));
    const before = await addresses();
    await Promise.all(nodes.map(async (node) => {
      await engine.stopNode(node, 5);
      await engine.startNode(node);
    }));
    expect(await addresses()).toEqual(before);
    // The same kubeconfig (same host port, same certificates) reaches the cluster again.
    await waitUntil('the API server after the restart', async () => (await kubectl(['get', '--raw', '/readyz'])).trim() === 'ok', { timeoutMs: 180_000 });
    await kubectl(['wait', '--for=condition=Ready', 'nodes', '--all', '--timeout=180s']);
    await kubectl(['rollout', 'status', 'deployment/web', '--timeout=180s']);
    await kubectl(['-n', 'kube-system', 'rollout', 'status', 'deployment/coredns', '--timeout=180s']);
    // A new pod (the old client was a one-off pod, gone with its node's restart).
    await kubectl(['run', 'client-2', `--image=${WEB_IMAGE}`, '--restart=Never', '--', 'serve']);
    await kubectl(['wait', '--for=condition=Ready', 'pod/client-2', '--timeout=180s']);
    // Pods on both workers, routes between them, kube-proxy and CoreDNS all work again.
    let answer = '';
    await waitUntil('the web Service by DNS name from the client pod', async () => {
      answer = await kubectl(['exec', 'client-2', '--', '/kc-web', 'get', 'http://web.default.svc.cluster.local/']);
      return true;
    }, { timeoutMs: 120_000 });
    expect(answer).toMatch(/^hello from web-/);
    const podIps = (await kubectl(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].status.podIP}'])).trim().split(' ');
    for (const ip of podIps) {
      expect(await kubectl(['exec', 'client-2', '--', '/kc-web', 'get', `http://${ip}:8080/`]), ip).toMatch(/^hello from web-/);
    }
  });

  it('refuses bad input with a clear error and creates nothing', async () => {
    // Only what this test's own names could have made is counted: other kc clusters may come and go on the engine meanwhile.
    const [zero, neg, bogus] = [testClusterName('zero'), testClusterName('neg'), testClusterName('bogus')];
    const ours = await clusterResources(NAME);
    const cases: [string[], RegExp][] = [
      [['create', 'cluster', '--name', 'Bad_Name'], /--name: "Bad_Name" is not valid; use lower-case letters/],
      [['create', 'cluster', '--name', zero, '--workers', '0'], /--workers: 0 is not valid; use a whole number from 1/],
      [['create', 'cluster', '--name', neg, '--workers', '-2'], /--workers: -2 is not valid/],
      [['create', 'cluster', '--name', NAME, '--kubeconfig', join(dir, 'other')], new RegExp(`a cluster named "${NAME}" already exists: delete it with \`kc delete cluster --name ${NAME}\``)],
      [['create', 'cluster', '--name', bogus, '--bogus-flag'], /Unknown argument: bogus-flag$/m],
    ];
    for (const [args, message] of cases) {
      const result = await kc(args);
      expect(result.code, `${args.join(' ')}: bad usage`).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
    for (const name of ['Bad_Name', 'bad_name', zero, neg, bogus]) expect(await clusterResources(name), name).toEqual({ containers: 0, networks: 0, volumes: 0 });
    expect(await clusterResources(NAME)).toEqual(ours);
    expect(ours.containers).toBe(5);
  });

  it('deletes every trace of the cluster, and a second delete is fine', async () => {
    const deleted = await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(await clusterResources(NAME)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    await expect(stat(clusterStateDir(NAME))).rejects.toThrow();
    expect(await readFile(kubeconfig, 'utf8')).not.toContain(CONTEXT);
    const again = await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    expect(again.code).toBe(0);
  });
});
