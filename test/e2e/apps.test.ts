import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { DEFAULT_NODE_IMAGE, DEFAULT_REGISTRY_PORT } from '../../src/config/defaults.js';
import { loadBalancerRange, registryName } from '../../src/model/plan.js';
import { DockerEngine } from '../../src/provider/docker/engine.js';
import { execOrThrow, LABEL_CLUSTER } from '../../src/provider/provider.js';
import { loadState } from '../../src/state/cluster-state.js';
import { waitUntil } from '../../src/util/poll.js';
import { buildWebImage, clusterResources, helmFor, helmPath, httpGet, kubectlFor } from './cluster-helpers.js';
import { E2E_NODE_IMAGE, expectOk, kc, testClusterName } from './helpers.js';

/**
 * A typical application chart on a default cluster with nothing installed by
 * hand, installed with Helm (test/fixtures/charts/kc-app): a StatefulSet whose
 * claim binds on the default StorageClass and keeps its data through a pod's
 * deletion and kc stop/start, a LoadBalancer Service the host reaches, and a
 * CPU HorizontalPodAutoscaler that scales it, running an image `docker
 * push`ed to localhost:5001 and pulled with imagePullPolicy Always. Then a
 * cluster with the add-ons switched off has none of it.
 */
const NAME = testClusterName('apps');
const BARE = testClusterName('bare');
const engine = new DockerEngine();
const execFileAsync = promisify(execFile);
const REGISTRY = `localhost:${DEFAULT_REGISTRY_PORT}`;
const REPOSITORY = `${REGISTRY}/kc-web`;
const PUSHED_IMAGE = `${REPOSITORY}:${NAME}`;
const CHART = fileURLToPath(new URL('../fixtures/charts/kc-app/', import.meta.url));
const RELEASE = 'shop';
let dir: string;
let kubeconfig: string;
let kubectl: ReturnType<typeof kubectlFor>;
let helm: ReturnType<typeof helmFor>;
let externalAddress = '';

/** The chart's LoadBalancer address, once MetalLB has given it one. */
async function loadBalancerAddress(): Promise<string> {
  if (externalAddress) return externalAddress;
  await waitUntil('the Service to get an external address', async () => {
    externalAddress = await kubectl(['get', 'service', RELEASE, '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}']);
    return externalAddress !== '' || 'still pending';
  }, { timeoutMs: 120_000, intervalMs: 1000 });
  return externalAddress;
}

/** GET a path of the chart's LoadBalancer address from the host, once something answers there. */
async function fromLoadBalancer(path: string): Promise<string> {
  await loadBalancerAddress();
  let body = '';
  await waitUntil(`http://${externalAddress}${path} to answer`, async () => {
    body = await httpGet(`http://${externalAddress}${path}`).catch((error: unknown) => `!${String(error)}`);
    return !body.startsWith('!') || body;
  }, { timeoutMs: 120_000, intervalMs: 1000 });
  return body;
}

/** The starts the first replica recorded on its volume, read through the LoadBalancer once it is Ready again. */
async function startsSeen(): Promise<string[]> {
  await kubectl(['rollout', 'status', `statefulset/${RELEASE}`, '--timeout=180s']);
  return (await fromLoadBalancer('/starts')).split('\n').filter(Boolean);
}

describe('an application chart on a default cluster: storage, a load balancer, metrics, autoscaling', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kc-apps-'));
    kubeconfig = join(dir, 'kubeconfig');
    kubectl = kubectlFor(kubeconfig, `kc-${NAME}`);
    helm = helmFor(kubeconfig, `kc-${NAME}`);
    await helmPath();
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    const created = await expectOk(['create', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    expect(created.stderr).toContain('Installing add-ons (RBAC, CoreDNS, storage, metrics-server, load-balancer, ingress, kube-router on 2 workers)');
    expect(created.stderr).toMatch(/Starting registry \(localhost:5001, [\d.]+\.3 on the cluster network/);
  }, 600_000);

  afterAll(async () => {
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    await kc(['delete', 'cluster', '--name', BARE, '--kubeconfig', kubeconfig]);
    await execFileAsync('docker', ['image', 'rm', '--force', PUSHED_IMAGE]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }, 180_000);

  it('installs the chart from an image pushed to localhost:5001, pulled with imagePullPolicy Always; its claim binds', async () => {
    await buildWebImage(PUSHED_IMAGE);
    await execFileAsync('docker', ['push', PUSHED_IMAGE]);
    await helm(['install', RELEASE, CHART, '--set', `image.repository=${REPOSITORY}`, '--set', `image.tag=${NAME}`]);
    expect(await helm(['list', '-o', 'json'])).toContain(`"name":"${RELEASE}"`);
    expect(await startsSeen()).toEqual([`start ${RELEASE}-0`]);
    expect(await kubectl(['get', 'pvc', `data-${RELEASE}-0`, '-o', 'jsonpath={.status.phase} {.spec.storageClassName}'])).toBe('Bound standard');
    const pulled = await kubectl(['get', 'events', '--field-selector', 'reason=Pulled', '-o', 'jsonpath={range .items[*]}{.message}{"\\n"}{end}']);
    expect(pulled).toContain(`Successfully pulled image "${PUSHED_IMAGE}"`);
    expect((await engine.registryState(registryName(DEFAULT_REGISTRY_PORT)))?.networks).toContain(`kc-${NAME}`);
  }, 600_000);

  it('installs, offline, a chart whose images are named as on Docker Hub and ghcr.io, after one kc load registry --from-chart', async () => {
    // The same app under names of registries this machine cannot reach: only kc's registry, as their mirror, has them.
    const ghcr = `ghcr.io/kc-e2e/web:${NAME}`;
    const hub = `kc-e2e-web:${NAME}`;
    const values = join(dir, 'offline-values.yaml');
    await execFileAsync('docker', ['tag', PUSHED_IMAGE, ghcr]);
    await execFileAsync('docker', ['tag', PUSHED_IMAGE, hub]);
    await writeFile(values, `image:\n  repository: ghcr.io/kc-e2e/web\n  tag: ${NAME}\n  pullPolicy: Always\ntest:\n  image: ${hub}\n`);
    try {
      const loaded = await kc(['load', 'registry', '--name', NAME, '--from-chart', CHART, '--values', values], {
        PATH: `${dirname(await helmPath())}:${process.env.PATH ?? ''}`,
      });
      expect(loaded.code, loaded.stderr).toBe(0);
      expect(loaded.stderr).toContain(`${ghcr} → ${REGISTRY}/ghcr.io/kc-e2e/web:${NAME} (pods pull it as ${ghcr})`);
      // The chart's test hook's image too, an official Docker Hub image as far as its name goes.
      expect(loaded.stderr).toContain(`${hub} → ${REGISTRY}/docker.io/library/kc-e2e-web:${NAME} (pods pull it as ${hub})`);
      await helm(['install', 'offline', CHART, '--values', values]);
      await kubectl(['rollout', 'status', 'statefulset/offline', '--timeout=180s']);
      expect(await helm(['test', 'offline', '--logs'])).toContain('start offline-0');
      const pulled = await kubectl(['get', 'events', '--field-selector', 'reason=Pulled', '-o', 'jsonpath={range .items[*]}{.message}{"\\n"}{end}']);
      expect(pulled).toContain(`Successfully pulled image "${ghcr}"`);
      expect(pulled).toContain(`Successfully pulled image "${hub}"`);
    } finally {
      await helm(['uninstall', 'offline', '--wait']).catch(() => undefined);
      await kubectl(['delete', 'pvc', 'data-offline-0', '--ignore-not-found']).catch(() => undefined);
      await execFileAsync('docker', ['image', 'rm', ghcr, hub]).catch(() => undefined);
    }
  }, 600_000);

  it('gives the LoadBalancer Service an address at the top of the cluster network, reached from the host and from other containers', async () => {
    await loadBalancerAddress();
    // From kc's pool: the top of this cluster's network, above its nodes.
    const state = await loadState(NAME);
    if (!state) throw new Error(`kc has no state for ${NAME}`);
    const [first = '', last = ''] = loadBalancerRange(state.plan).split('-');
    const lastOctet = (address: string) => Number(address.split('.')[3]);
    expect(externalAddress.split('.').slice(0, 3)).toEqual(first.split('.').slice(0, 3));
    expect(lastOctet(externalAddress)).toBeGreaterThanOrEqual(lastOctet(first));
    expect(lastOctet(externalAddress)).toBeLessThanOrEqual(lastOctet(last));
    expect(await fromLoadBalancer('/')).toBe(`hello from ${RELEASE}-0\n`);
    // Another container on the cluster's network (the lb node) reaches it too.
    const request = `exec 3<>/dev/tcp/${externalAddress}/80; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3`;
    expect(await execOrThrow(engine, `${NAME}-lb`, ['bash', '-c', request])).toContain(`hello from ${RELEASE}-0`);
  }, 300_000);

  it('keeps the data through the pod\'s deletion and kc stop/start, and the address answers again', async () => {
    await kubectl(['delete', 'pod', `${RELEASE}-0`, '--wait=true']);
    expect(await startsSeen()).toEqual([`start ${RELEASE}-0`, `start ${RELEASE}-0`]);

    await expectOk(['stop', 'cluster', '--name', NAME]);
    await expectOk(['start', 'cluster', '--name', NAME]);
    // The pod restarted with its node and pulled its image again (Always): the registry is still there.
    expect(await startsSeen()).toEqual([`start ${RELEASE}-0`, `start ${RELEASE}-0`, `start ${RELEASE}-0`]);
    expect(await kubectl(['get', 'service', RELEASE, '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'])).toBe(externalAddress);
  }, 600_000);

  it('answers kubectl top, and the chart\'s CPU autoscaler reports a figure and scales the busy StatefulSet', async () => {
    let top = '';
    await waitUntil('kubectl top nodes to give figures', async () => {
      top = await kubectl(['top', 'nodes', '--no-headers']).catch((error: unknown) => String(error));
      return /^\S+-worker-0\s+\d+m\s+\d+%\s+\d+Mi/m.test(top) && /^\S+-worker-1\s+\d+m/m.test(top) ? true : top;
    }, { timeoutMs: 180_000, intervalMs: 2000 });

    await helm(['upgrade', RELEASE, CHART, '--reuse-values', '--set', 'busy=true']);
    let seen = '';
    await waitUntil('the HPA to report CPU and scale to 2', async () => {
      seen = await kubectl(['get', 'hpa', RELEASE, '-o', 'jsonpath={.status.currentMetrics[0].resource.current.averageUtilization} {.status.desiredReplicas}']);
      const [utilization, desired] = seen.split(' ');
      return (Number(utilization) > 50 && desired === '2') || `utilization/desired: ${seen || 'nothing yet'}`;
    }, { timeoutMs: 300_000, intervalMs: 2000 });
    await kubectl(['rollout', 'status', `statefulset/${RELEASE}`, '--timeout=180s']);
    expect(await kubectl(['get', 'statefulset', RELEASE, '-o', 'jsonpath={.status.readyReplicas}'])).toBe('2');
    // The second replica got a claim of its own.
    expect(await kubectl(['get', 'pvc', `data-${RELEASE}-1`, '-o', 'jsonpath={.status.phase}'])).toBe('Bound');
    expect((await expectOk(['get', 'clusters'])).stdout).toMatch(
      new RegExp(`^${NAME}\\trunning\\t5 nodes\\tstorage ready, metrics-server ready, load-balancer ready, ingress ready, registry ready$`, 'm'),
    );
  }, 600_000);

  it('leaves the add-ons out when told: no StorageClass, no metrics API, no load balancer, no ingress, no volume for them', async () => {
    const bareConfig = join(dir, 'bare-kubeconfig');
    const created = await expectOk([
      'create', 'cluster', '--name', BARE, '--control-planes', '1', '--workers', '1', '--disable', 'storage',
      '--disable', 'metrics-server', '--disable', 'registry', '--disable', 'load-balancer', '--disable', 'ingress', '--kubeconfig', bareConfig,
    ]);
    expect(created.stderr).toContain('Installing add-ons (RBAC, CoreDNS, kube-router on 1 worker)');
    const bare = kubectlFor(bareConfig, `kc-${BARE}`);
    expect(await bare(['get', 'storageclass', '-o', 'name'])).toBe('');
    expect(await bare(['get', 'apiservice', '-o', 'name'])).not.toContain('metrics.k8s.io');
    expect(await bare(['get', 'namespaces', '-o', 'name'])).not.toContain('metallb-system');
    expect(await bare(['get', 'ingressclass', '-o', 'name'])).toBe('');
    expect(await bare(['get', 'crd', '-o', 'name'])).not.toContain('gateway.networking.k8s.io');
    expect((await engine.listVolumes({ [LABEL_CLUSTER]: BARE })).map((v) => v.name)).toEqual([`${BARE}-worker-0-containerd`]);
    expect((await engine.registryState(registryName(DEFAULT_REGISTRY_PORT)))?.networks ?? []).not.toContain(`kc-${BARE}`);
    await expectOk(['delete', 'cluster', '--name', BARE, '--kubeconfig', bareConfig]);
  }, 600_000);

  it('kc delete cluster takes the volumes with it, and the registry\'s container when no other cluster uses it, keeping its images', async () => {
    // Two workers' containerd and local-path volumes.
    expect((await clusterResources(NAME)).volumes).toBe(4);
    const registry = registryName(DEFAULT_REGISTRY_PORT);
    // Other kc clusters on this machine may share the registry: only theirs keep it.
    const others = ((await engine.registryState(registry))?.networks ?? []).filter((n) => n !== `kc-${NAME}` && n !== 'bridge');
    await expectOk(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    expect(await clusterResources(NAME)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    const after = await engine.registryState(registry);
    if (others.length === 0) expect(after).toBeUndefined();
    else expect(after?.networks).not.toContain(`kc-${NAME}`);
    // Its images stay on its volume for the next cluster on the port: what this test pushed is there.
    const listed = JSON.parse(await expectOk(['get', 'registries', '--json']).then((r) => r.stdout)) as { port: number; status: string; sizeBytes?: number }[];
    expect(listed.find((r) => r.port === DEFAULT_REGISTRY_PORT)).toMatchObject({ status: others.length === 0 ? 'data only' : 'running' });
    const repositories = await execFileAsync('docker', [
      'run', '--rm', '--entrypoint', 'ls', '-v', `${registry}-data:/registry:ro`, E2E_NODE_IMAGE ?? DEFAULT_NODE_IMAGE, '/registry/docker/registry/v2/repositories',
    ]);
    expect(repositories.stdout.split('\n')).toEqual(expect.arrayContaining(['kc-web', 'ghcr.io', 'docker.io']));
  }, 180_000);
});
