import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ClusterExistsError } from '../../src/cluster/create/network.js';
import { CreateStepError } from '../../src/cluster/create/create.js';
import { deleteCluster } from '../../src/cluster/ops/delete.js';
import { deleteRegistry, registryViews } from '../../src/cluster/registry/registry.js';
import { defaultClusterSpec, DEFAULT_NODE_IMAGE } from '../../src/config/defaults.js';
import type { ClusterSpec } from '../../src/config/types.js';
import { FakeEngine } from '../../src/provider/fake/engine.js';
import { podImagesFor, requireRelease } from '../../src/artifacts/manifest.js';
import { PATHS } from '../../src/components/paths.js';
import { LABEL_KUBERNETES_VERSION, type NodeImageOptions } from '../../src/image/node-image.js';
import { createFakeCluster, healthyApi, healthyCluster } from './fake-cluster.js';
import type { ApiProbe } from '../../src/cluster/kube/api.js';
import { clusterStateFile, loadState } from '../../src/state/cluster-state.js';
import { LockBusyError } from '../../src/state/lock.js';
import { useTemporaryStateDir } from './helpers.js';
import { UsageError } from '../../src/util/errors.js';

/**
 * The real create pipeline, every step, against the in-memory engine. What
 * runs inside the nodes is answered as a healthy cluster would (systemd up,
 * units active, etcd healthy, nodes Ready); the API server's readiness
 * probe answers 200.
 */
/** The steps of a bridge-network cluster, in the order they must run (Weave's image check is not among them). */
const BRIDGE_STEPS = [
  'Checking engines',
  'Checking ingress ports',
  'Ensuring node image',
  'Ensuring registry image',
  'Creating network',
  'Planning nodes',
  'Generating certificates',
  'Starting registry',
  'Starting nodes',
  'Starting etcd cluster',
  'Starting control plane',
  'Joining workers',
  'Installing add-ons',
  'Setting up pod network',
  'Waiting for nodes and CoreDNS',
  'Writing kubeconfig',
];

const temporary = useTemporaryStateDir('kc-pipeline-');

function newEngine(): FakeEngine {
  const engine = new FakeEngine({ images: [DEFAULT_NODE_IMAGE] });
  engine.onExec = healthyCluster();
  return engine;
}

function specNamed(name: string, overrides: Partial<ClusterSpec> = {}): ClusterSpec {
  return defaultClusterSpec({ name, controlPlanes: 1, workers: 1, waitSeconds: 5, ...overrides });
}

/** The real pipeline on the fake engine (certificates made as for real: ECDSA keys take milliseconds). */
function create(engine: FakeEngine, spec: ClusterSpec, afterStep?: (title: string) => void) {
  return createFakeCluster(engine, spec, join(temporary.dir, 'kubeconfig'), { afterStep });
}

/** Makes `title`'s step fail once its own work is done. */
function failingAt(title: string, injected: Error): (step: string) => void {
  return (step) => {
    if (step === title) throw injected;
  };
}

describe('the create pipeline on the fake engine', () => {
  it('runs every step in order and leaves a whole cluster: network, nodes, volume, state, kubeconfig context', async () => {
    const engine = newEngine();
    const result = await create(engine, specNamed('one'));
    expect(Object.keys(result.stepSeconds)).toEqual(BRIDGE_STEPS);
    expect([...engine.networks.keys()]).toEqual(['kc-one']);
    expect([...engine.nodes.keys()].sort()).toEqual(['one-lb', 'one-master-0', 'one-worker-0']);
    expect([...engine.volumes.keys()].sort()).toEqual(['kc-registry-5001-data', 'one-worker-0-containerd', 'one-worker-0-local-path']);
    const master = engine.nodes.get('one-master-0');
    expect(master?.files.has('/etc/systemd/system/etcd.service')).toBe(true);
    // In place before the node booted: systemd starts etcd with it.
    expect(master?.links.get('/etc/systemd/system/multi-user.target.wants/etcd.service')).toBe('/etc/systemd/system/etcd.service');
    expect((await loadState('one'))?.kubeconfigPaths).toEqual([join(temporary.dir, 'kubeconfig')]);
    expect(await readFile(join(temporary.dir, 'kubeconfig'), 'utf8')).toContain('kc-one');
  }, 60_000);

  for (const title of BRIDGE_STEPS) {
    it(`removes everything when "${title}" fails, naming the step and keeping its error as the cause`, async () => {
      const engine = newEngine();
      const injected = new Error(`injected failure in ${title}`);
      const failure = await create(engine, specNamed('fails'), failingAt(title, injected)).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(CreateStepError);
      const error = failure as CreateStepError;
      expect(error.step).toBe(title);
      expect(error.cause).toBe(injected);
      expect(error.message).toContain(`creating the cluster failed at "${title}": injected failure in ${title}`);
      expect(engine.isEmpty(), [...engine.nodes.keys(), ...engine.networks.keys()].join(', ')).toBe(true);
      expect(await loadState('fails')).toBeUndefined();
      expect(await readFile(join(temporary.dir, 'kubeconfig'), 'utf8').catch(() => '')).not.toContain('kc-fails');
    }, 60_000);
  }

  it('counts --wait from when the node image is ready: a first build longer than --wait still ends in a cluster', async () => {
    // No node image yet: the create builds it, and the build takes longer than the whole --wait.
    const engine = new FakeEngine();
    engine.onExec = healthyCluster();
    const spec = specNamed('newcomer', { waitSeconds: 2 });
    let built = false;
    const slowBuild = async ({ tag }: { tag?: string }) => {
      await new Promise((resolve) => setTimeout(resolve, 2500));
      engine.images.set(tag ?? DEFAULT_NODE_IMAGE, {});
      built = true;
    };
    // As a real API server does while it starts, the first readiness probe is answered 503: the wait must have time left to ask again.
    const healthy = healthyApi(spec);
    let probes = 0;
    const startingApi: ApiProbe = (server, pki, path) =>
      path === '/readyz' && probes++ === 0 ? Promise.resolve({ status: 503, body: 'starting' }) : healthy(server, pki, path);
    const result = await createFakeCluster(engine, spec, join(temporary.dir, 'kubeconfig'), { buildNodeImage: slowBuild, apiProbe: startingApi });
    expect(built).toBe(true);
    expect(result.stepSeconds['Ensuring node image']).toBeGreaterThan(spec.waitSeconds);
    expect(Object.keys(result.stepSeconds)).toEqual(BRIDGE_STEPS);
  }, 60_000);

  it('runs the Kubernetes version its image names in its label, and builds kc/node:<version> of that release when missing', async () => {
    // --image names an image: the version (and with it the pause and CoreDNS tags) comes from the image's label.
    const labelled = newEngine();
    labelled.images.set('kc/node:dev', { [LABEL_KUBERNETES_VERSION]: 'v1.35.4' });
    await create(labelled, specNamed('labelled', { nodeImage: 'kc/node:dev' }));
    expect((await loadState('labelled'))?.plan.spec.kubernetesVersion).toBe('v1.35.4');
    const config = labelled.nodes.get('labelled-worker-0')?.files.get(PATHS.containerdConfig)?.content.toString();
    expect(config).toContain(`sandbox = '${podImagesFor(requireRelease('v1.35.4')).pause}'`);

    // kc/node:v1.36.3 is missing: the create builds that release, not the default one.
    const engine = new FakeEngine();
    engine.onExec = healthyCluster();
    const builds: (string | undefined)[] = [];
    const build = async ({ tag, release }: NodeImageOptions) => {
      builds.push(release?.kubernetes);
      engine.images.set(tag ?? '', { [LABEL_KUBERNETES_VERSION]: release?.kubernetes ?? '' });
    };
    const spec = specNamed('older', { nodeImage: 'kc/node:v1.36.3', kubernetesVersion: 'v1.36.3' });
    await createFakeCluster(engine, spec, join(temporary.dir, 'kubeconfig'), { buildNodeImage: build });
    expect(builds).toEqual(['v1.36.3']);
    expect((await loadState('older'))?.plan.spec.kubernetesVersion).toBe('v1.36.3');
  }, 60_000);

  it('refuses an image of a Kubernetes version it cannot set up, before anything is created', async () => {
    const engine = newEngine();
    engine.images.set('kc/node:future', { [LABEL_KUBERNETES_VERSION]: 'v1.40.0' });
    const failure = create(engine, specNamed('future', { nodeImage: 'kc/node:future' }));
    await expect(failure).rejects.toThrow(/node image kc\/node:future runs Kubernetes v1\.40\.0 .*use --kubernetes-version with one of v1\.37\.2/);
    expect(engine.isEmpty()).toBe(true);
  }, 60_000);

  it('removes every node when one fails to start while another is still being created', async () => {
    const engine = newEngine();
    const injected = new Error('port is already allocated');
    engine.failOn({ method: 'createNode', when: (name) => name === 'late-master-0', error: injected });
    // The worker's container appears 200 ms after it is asked for; removing a container takes 500 ms (the node's systemd stops first).
    engine.delayOn({ method: 'createNode', when: (name) => name === 'late-worker-0', until: () => sleep(200) });
    engine.delayOn({ method: 'removeNode', until: () => sleep(500) });
    const failure = await create(engine, specNamed('late')).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CreateStepError);
    expect((failure as CreateStepError).cause).toBe(injected);
    expect((failure as CreateStepError).outcome).toBe('removed');
    expect(engine.isEmpty(), [...engine.nodes.keys(), ...engine.volumes.keys()].join(', ')).toBe(true);
  }, 60_000);

  it('keeps what it created with --retain, until kc delete cluster', async () => {
    const engine = newEngine();
    const failure = create(engine, specNamed('kept', { retain: true }), failingAt('Starting control plane', new Error('no API server')));
    await expect(failure).rejects.toThrow(/The nodes were kept \(--retain\)/);
    expect(engine.nodes.size).toBe(3);
    expect(engine.networks.size).toBe(1);
    await deleteCluster({ engine, registries: engine, name: 'kept', kubeconfigPath: join(temporary.dir, 'kubeconfig') });
    expect(engine.isEmpty()).toBe(true);
  }, 60_000);

  it('reports a failed cleanup next to the step\'s error, not instead of it', async () => {
    const engine = newEngine();
    const injected = new Error('etcd never became healthy');
    engine.failOn({ method: 'removeNetwork', error: new Error('network kc-stuck has active endpoints') });
    const failure = (await create(engine, specNamed('stuck'), failingAt('Starting etcd cluster', injected)).catch((e: unknown) => e)) as CreateStepError;
    expect(failure.cause).toBe(injected);
    expect(failure.outcome).toBe('cleanup-failed');
    expect(failure.message).toContain('failed at "Starting etcd cluster": etcd never became healthy');
    expect(failure.message).toContain('Removing what was created failed too: network kc-stuck has active endpoints');
    expect(failure.message).toContain('kc delete cluster --name stuck');
  }, 60_000);

  it('creates nothing and takes no step for a name already taken', async () => {
    const engine = newEngine();
    await create(engine, specNamed('taken'));
    const calls = engine.calls.length;
    await expect(create(engine, specNamed('taken'))).rejects.toBeInstanceOf(ClusterExistsError);
    expect(engine.calls.slice(calls).every((c) => c.startsWith('list'))).toBe(true);
  }, 60_000);

  it('deletes a cluster completely, and a second delete is fine', async () => {
    const engine = newEngine();
    await create(engine, specNamed('gone'));
    const first = await deleteCluster({ engine, registries: engine, name: 'gone' });
    expect(first).toMatchObject({ containers: 3, networks: 1, volumes: 2, state: true, kubeconfigEntry: true });
    expect(engine.isEmpty()).toBe(true);
    await expect(stateExists('gone')).resolves.toBe(false);
    expect(await deleteCluster({ engine, registries: engine, name: 'gone' })).toMatchObject({ containers: 0, networks: 0, state: false });
  }, 60_000);

  it('creates two clusters at once on separate subnets, both in one kubeconfig file', async () => {
    const engine = newEngine();
    await Promise.all([create(engine, specNamed('left')), create(engine, specNamed('right'))]);
    const subnets = [...engine.networks.values()].map((n) => n.subnet);
    expect(new Set(subnets).size).toBe(2);
    const kubeconfig = await readFile(join(temporary.dir, 'kubeconfig'), 'utf8');
    expect(kubeconfig).toContain('kc-left');
    expect(kubeconfig).toContain('kc-right');
  }, 60_000);

  it('lets only one of two creates of the same name go ahead', async () => {
    const engine = newEngine();
    const results = await Promise.allSettled([create(engine, specNamed('twin')), create(engine, specNamed('twin'))]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected');
    expect(rejected?.reason).toSatisfy((e: unknown) => e instanceof ClusterExistsError || e instanceof LockBusyError);
    expect(engine.nodes.size).toBe(3);
  }, 60_000);
});

async function stateExists(name: string): Promise<boolean> {
  return readFile(clusterStateFile(name)).then(() => true, () => false);
}

describe('the registry beside the clusters', () => {
  it('is made with the first cluster, on each cluster network at .3, shared by the next, and goes with the last', async () => {
    const engine = newEngine();
    await create(engine, specNamed('reg-a'));
    await create(engine, specNamed('reg-b'));
    const registry = engine.registries.get('kc-registry-5001');
    expect(registry?.spec.port).toEqual({ containerPort: 5000, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 5001 });
    const subnetOf = (cluster: string) => engine.networks.get(`kc-${cluster}`)?.subnet.replace(/\.0\/24$/, '');
    expect(Object.fromEntries(registry?.networks ?? [])).toEqual({ 'kc-reg-a': `${subnetOf('reg-a')}.3`, 'kc-reg-b': `${subnetOf('reg-b')}.3` });
    // Every worker's containerd sends localhost:5001 to the registry's address on its own network.
    const hosts = engine.nodes.get('reg-b-worker-0')?.files.get('/etc/containerd/certs.d/localhost:5001/hosts.toml')?.content.toString();
    expect(hosts).toContain(`[host."http://${subnetOf('reg-b')}.3:5000"]`);
    expect(engine.nodes.get('reg-b-worker-0')?.files.get(PATHS.containerdConfig)?.content.toString()).toContain("config_path = '/etc/containerd/certs.d'");
    // And a mirror of registry.k8s.io, docker.io, ghcr.io and quay.io: asked first (each in its own folder of the registry), the upstream registry after it.
    const mirror = engine.nodes.get('reg-b-worker-0')?.files.get('/etc/containerd/certs.d/registry.k8s.io/hosts.toml')?.content.toString();
    expect(mirror).toContain('server = "https://registry.k8s.io"');
    expect(mirror).toContain(`[host."http://${subnetOf('reg-b')}.3:5000/v2/registry.k8s.io"]`);
    expect(mirror).toContain('override_path = true');
    for (const upstream of ['docker.io', 'ghcr.io', 'quay.io']) {
      expect(engine.nodes.get('reg-b-worker-0')?.files.get(`/etc/containerd/certs.d/${upstream}/hosts.toml`)?.content.toString()).toContain(`:5000/v2/${upstream}"]`);
    }

    expect(await deleteCluster({ engine, registries: engine, name: 'reg-a' })).toMatchObject({ registry: 'kept' });
    expect([...(engine.registries.get('kc-registry-5001')?.networks.keys() ?? [])]).toEqual(['kc-reg-b']);
    expect(await deleteCluster({ engine, registries: engine, name: 'reg-b' })).toMatchObject({ registry: 'removed' });
    expect(engine.isEmpty()).toBe(true);
    // The registry's container went with its last cluster; its images stay for the next cluster on that port.
    engine.registryDataBytes.set('kc-registry-5001-data', 3 * 1024 ** 2);
    expect(await registryViews(engine)).toEqual([{ port: 5001, status: 'data only', clusters: [], sizeBytes: 3 * 1024 ** 2, volume: 'kc-registry-5001-data' }]);
    await create(engine, specNamed('reg-c'));
    expect(engine.calls.filter((c) => c === 'createRegistry kc-registry-5001')).toHaveLength(2);
    expect(engine.volumes.has('kc-registry-5001-data')).toBe(true);
    expect((await registryViews(engine))[0]).toMatchObject({ status: 'running', clusters: ['reg-c'] });
    // kc delete registry: refused while a cluster uses it, naming it; afterwards the images go too.
    await expect(deleteRegistry(engine, 5001)).rejects.toThrow('the registry on localhost:5001 is used by cluster reg-c: delete it first (kc delete clusters reg-c), or keep the registry');
    expect(engine.volumes.has('kc-registry-5001-data')).toBe(true);
    await deleteCluster({ engine, registries: engine, name: 'reg-c' });
    expect(await deleteRegistry(engine, 5001)).toMatchObject({ port: 5001, status: 'data only' });
    expect(engine.volumes.size).toBe(0);
    expect(await deleteRegistry(engine, 5001)).toBeUndefined();
  }, 60_000);

  it('refuses a registry port another program holds before it creates anything, naming the port and the fixes', async () => {
    const engine = newEngine();
    const failure = await createFakeCluster(engine, specNamed('taken', { registryPort: 5099 }), join(temporary.dir, 'kubeconfig'), {
      portIsFree: async (host, port) => !(host === '127.0.0.1' && port === 5099),
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CreateStepError);
    expect((failure as CreateStepError).outcome).toBe('nothing-created');
    expect((failure as Error).message).toContain("the registry's port 5099 on 127.0.0.1 is taken by another program: give another with --registry-port");
    expect((failure as Error).message).toContain('--disable registry');
    expect(engine.isEmpty()).toBe(true);
  }, 60_000);

  it('refuses a taken ingress port before it creates anything, or builds a node image, naming the port and the fixes', async () => {
    const engine = new FakeEngine();
    let built = false;
    const failure = await createFakeCluster(engine, specNamed('taken-ingress', { ingressPorts: { http: 8080, https: 8443 } }), join(temporary.dir, 'kubeconfig'), {
      portIsFree: async (host, port) => !(host === '127.0.0.1' && port === 8443),
      buildNodeImage: async () => {
        built = true;
      },
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CreateStepError);
    expect((failure as CreateStepError).step).toBe('Checking ingress ports');
    expect((failure as CreateStepError).outcome).toBe('nothing-created');
    expect((failure as CreateStepError).cause).toBeInstanceOf(UsageError);
    expect((failure as Error).message).toContain("the ingress's HTTPS port 8443 on 127.0.0.1 is taken by another program (or another cluster's ingress)");
    expect((failure as Error).message).toContain('--ingress-port HTTP/HTTPS');
    expect((failure as Error).message).toContain('--disable ingress');
    expect(built).toBe(false);
    expect(engine.isEmpty()).toBe(true);
  }, 60_000);

  it('publishes the ingress on the lb: the ports asked for, or free ones picked and recorded in the state', async () => {
    const engine = newEngine();
    const asked: number[] = [];
    await createFakeCluster(engine, specNamed('ingress-fixed', { ingressPorts: { http: 8080, https: 8443 } }), join(temporary.dir, 'kubeconfig'), {
      portIsFree: async (_host, port) => {
        asked.push(port);
        return true;
      },
    });
    expect(asked.filter((port) => port === 8080 || port === 8443)).toEqual([8080, 8443]);
    const lbPorts = (name: string) => engine.nodes.get(`${name}-lb`)?.spec.ports.filter((p) => p.containerPort !== 6443).map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}`);
    expect(lbPorts('ingress-fixed')).toEqual(['127.0.0.1:8080->80', '127.0.0.1:8443->443']);

    await create(engine, specNamed('ingress-any'));
    const pinned = (await loadState('ingress-any'))?.plan.spec.ingressPorts;
    expect(pinned?.http).toBeGreaterThan(0);
    expect(pinned?.https).toBeGreaterThan(0);
    expect(pinned?.http).not.toBe(pinned?.https);
    expect(lbPorts('ingress-any')).toEqual([`127.0.0.1:${pinned?.http}->80`, `127.0.0.1:${pinned?.https}->443`]);
    // HAProxy on the lb forwards them to the workers' NodePorts.
    const haproxy = engine.nodes.get('ingress-any-lb')?.files.get(PATHS.haproxyConfig)?.content.toString() ?? '';
    expect(haproxy).toMatch(/frontend ingress-https\n {2}bind \*:443\n/);
    expect(haproxy).toMatch(/ {2}server ingress-any-worker-0 [\d.]+:32443\n/);

    // Without the ingress: no port, no check, no HAProxy section.
    const none = specNamed('no-ingress', { addons: { ...defaultClusterSpec().addons, ingress: false }, ingressPorts: { http: 8080, https: 8443 } });
    const result = await createFakeCluster(engine, none, join(temporary.dir, 'kubeconfig'), {
      portIsFree: async () => {
        throw new Error('no port of the ingress may be checked');
      },
    });
    expect(Object.keys(result.stepSeconds)).not.toContain('Checking ingress ports');
    expect(lbPorts('no-ingress')).toEqual([]);
    expect(engine.nodes.get('no-ingress-lb')?.files.get(PATHS.haproxyConfig)?.content.toString()).not.toContain('frontend ingress');
  }, 60_000);

  it('makes no registry and no hosts file for a cluster without one', async () => {
    const engine = newEngine();
    await create(engine, specNamed('no-reg', { addons: { storage: true, metricsServer: true, registry: false, loadBalancer: true, ingress: true } }));
    expect(engine.registries.size).toBe(0);
    expect(engine.calls.some((c) => c.startsWith('registryState'))).toBe(false);
    expect([...(engine.nodes.get('no-reg-worker-0')?.files.keys() ?? [])].some((p) => p.startsWith('/etc/containerd/certs.d/'))).toBe(false);
  }, 60_000);

});
