import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../../src/util/poll.js';
import { dockerClientFor } from '../../src/provider/docker/connect.js';
import { DockerEngine } from '../../src/provider/docker/engine.js';
import { execOrThrow, LABEL_CLUSTER } from '../../src/provider/provider.js';
import { buildWebImage, kubectlFor } from './cluster-helpers.js';
import { kc, testClusterName } from './helpers.js';

/**
 * One cluster across two Docker engines: the lb, the master and one worker on
 * this host's engine, one worker on a second engine (scripts/dev-engine.sh: a
 * Docker engine in a container, the one-machine simulation of a second host),
 * joined by kc into a swarm and connected by the cluster's overlay network.
 */
const execFileAsync = promisify(execFile);
const DEV_ENGINE = fileURLToPath(new URL('../../scripts/dev-engine.sh', import.meta.url));
const NAME = testClusterName('span');
const ENGINE = `${process.env.KC_E2E_PREFIX ?? ''}e2`;
const CONTEXT = `kc-${NAME}`;
const WEB_IMAGE = 'kc-e2e/web:1';
const NS = 'span-test';
const near = `${NAME}-worker-0`;
const far = `${NAME}-worker-1`;
const local = new DockerEngine();
let second: DockerEngine;
let engineHost: string;
let dir: string;
let kubeconfig: string;
let kubectl: ReturnType<typeof kubectlFor>;
let swarmBefore: string;

async function devEngine(action: 'start' | 'restart' | 'stop'): Promise<string> {
  const { stdout } = await execFileAsync(DEV_ENGINE, [action, ENGINE], { maxBuffer: 1024 * 1024 });
  return stdout.trim();
}

async function swarmStateOf(engine: DockerEngine): Promise<string> {
  return (await engine.swarmState()).state;
}

/** A kc-web server pinned to a node, and its Service on the far one. */
async function deployServer(pod: string, node: string): Promise<void> {
  const manifest = {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: pod, namespace: NS, labels: { app: pod } },
    spec: {
      nodeName: node,
      containers: [{ name: 'web', image: WEB_IMAGE, args: ['serve'], ports: [{ containerPort: 8080 }], readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }],
    },
  };
  await kubectl(['apply', '-f', '-'], JSON.stringify(manifest));
}

async function podIp(pod: string): Promise<string> {
  return (await kubectl(['-n', NS, 'get', 'pod', pod, '-o', 'jsonpath={.status.podIP}'])).trim();
}

/** What the near pod gets from a URL (kc-web get), polled: a new Service takes kube-proxy a sync to appear. */
async function getFromNearPod(url: string): Promise<string> {
  let body = '';
  await waitUntil(`${url} from the near pod`, async () => {
    body = await kubectl(['-n', NS, 'exec', 'near', '--', '/kc-web', 'get', url]);
    return true;
  }, { timeoutMs: 60_000, intervalMs: 1000 });
  return body;
}

describe('a cluster across two Docker engines (swarm overlay)', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kc-span-'));
    kubeconfig = join(dir, 'kubeconfig');
    kubectl = kubectlFor(kubeconfig, CONTEXT);
    swarmBefore = await swarmStateOf(local);
    // A fresh engine: on cgroup v1 hosts a simulated engine boots one node's systemd cleanly (see docs/multi-engine.md).
    await devEngine('stop');
    engineHost = await devEngine('start');
    second = new DockerEngine(dockerClientFor(engineHost));
    await writeFile(
      join(dir, 'cluster.yaml'),
      [
        'apiVersion: kc.dev/v1alpha1',
        'kind: Cluster',
        `name: ${NAME}`,
        'engines:',
        `  - {name: ${ENGINE}, host: "${engineHost}"}`,
        'nodes:',
        '  - role: master',
        '  - role: worker',
        '  - role: worker',
        `    engine: ${ENGINE}`,
        '',
      ].join('\n'),
    );
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    await buildWebImage(WEB_IMAGE);
    const created = await kc(['create', 'cluster', '--config', join(dir, 'cluster.yaml'), '--kubeconfig', kubeconfig]);
    expect(created.code, created.stderr).toBe(0);
  });

  afterAll(async () => {
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    await devEngine('stop');
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the far worker on the second engine, and every node is Ready', async () => {
    const nodes = await kc(['get', 'nodes', '--name', NAME]);
    expect(nodes.stdout).toMatch(new RegExp(`^${far}\tworker\trunning\t172\\.30\\.\\d+\\.101\t${ENGINE}$`, 'm'));
    expect(nodes.stdout).toMatch(new RegExp(`^${near}\tworker\trunning\t172\\.30\\.\\d+\\.100\tlocal$`, 'm'));
    expect(await second.inspectNode(far), 'the far worker is a container of the second engine').toBeDefined();
    expect(await local.inspectNode(far), 'and not of this host\'s engine').toBeUndefined();
    const ready = await kubectl(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}']);
    expect(ready.trim().split(' ').sort()).toEqual([`${near}=True`, `${far}=True`]);
    // Both engines are in one swarm now.
    expect(await swarmStateOf(local)).toBe('active');
    expect(await swarmStateOf(second)).toBe('active');
  });

  it('serves a pod on the far worker to a pod on the near one, by pod IP and through a Service', async () => {
    const loaded = await kc(['load', 'docker-image', WEB_IMAGE, '--name', NAME]);
    expect(loaded.code, loaded.stderr).toBe(0);
    await kubectl(['create', 'namespace', NS]);
    await deployServer('far', far);
    await deployServer('near', near);
    await kubectl(['-n', NS, 'expose', 'pod', 'far', '--port', '80', '--target-port', '8080']);
    await kubectl(['-n', NS, 'wait', '--for=condition=Ready', 'pod/far', 'pod/near', '--timeout=180s']);
    expect(await getFromNearPod(`http://${await podIp('far')}:8080/`)).toBe('hello from far\n');
    expect(await getFromNearPod(`http://far.${NS}.svc.cluster.local/`)).toBe('hello from far\n');
    // Pods see each other's real addresses across engines: no NAT on the way.
    expect((await getFromNearPod(`http://${await podIp('far')}:8080/remote`)).trim()).toBe(await podIp('near'));
  });

  it('lets the API server reach pods on both engines (pods/proxy)', async () => {
    for (const pod of ['near', 'far']) {
      const body = await kubectl(['get', '--raw', `/api/v1/namespaces/${NS}/pods/${pod}:8080/proxy/`]);
      expect(body).toBe(`hello from ${pod}\n`);
    }
  });

  it('brings the far worker back with the same address after the second engine restarts', async () => {
    const addressBefore = (await execOrThrow(second, far, ['ip', '-4', '-o', 'addr', 'show', 'eth0'])).split(/\s+/)[3];
    engineHost = await devEngine('restart');
    // The engine stopped its containers as it went down; kc start cluster starts what is stopped, on its engine.
    const started = await kc(['start', 'cluster', '--name', NAME]);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout + started.stderr).toMatch(/1 started, 3 were running/);
    await waitUntil(`${far} Ready again`, async () => {
      const ready = await kubectl(['get', 'node', far, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
      return ready.trim() === 'True';
    }, { timeoutMs: 180_000, intervalMs: 2000 });
    const addressAfter = (await execOrThrow(second, far, ['ip', '-4', '-o', 'addr', 'show', 'eth0'])).split(/\s+/)[3];
    expect(addressAfter).toBe(addressBefore);
    await kubectl(['-n', NS, 'wait', '--for=condition=Ready', 'pod/far', '--timeout=180s']);
    expect(await getFromNearPod(`http://far.${NS}.svc.cluster.local/`)).toBe('hello from far\n');
  });

  it('kc delete cluster removes everything on both engines and leaves no swarm kc made', async () => {
    const deleted = await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    expect(deleted.code, deleted.stderr).toBe(0);
    const labels = { [LABEL_CLUSTER]: NAME };
    for (const engine of [local, second]) {
      expect(await engine.listNodes(labels)).toEqual([]);
      expect(await engine.listVolumes(labels)).toEqual([]);
      expect(await engine.listNetworks(labels)).toEqual([]);
    }
    expect(await swarmStateOf(second)).toBe('inactive');
    // This host's engine is as it was: out of swarm mode unless someone else had put it there.
    expect(await swarmStateOf(local)).toBe(swarmBefore);
  });
});
