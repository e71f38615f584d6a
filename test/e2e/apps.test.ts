import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DEFAULT_RELEASE, podImagesFor } from '../../src/artifacts/manifest.js';
import { DEFAULT_REGISTRY_PORT } from '../../src/config/defaults.js';
import { registryName } from '../../src/model/plan.js';
import { DockerEngine } from '../../src/provider/docker/engine.js';
import { LABEL_CLUSTER } from '../../src/provider/provider.js';
import { waitUntil } from '../../src/util/poll.js';
import { buildWebImage, clusterResources, kubectlFor } from './cluster-helpers.js';
import { expectOk, kc, testClusterName } from './helpers.js';

/**
 * What an application chart needs, on a default cluster with nothing
 * installed by hand: an image `docker push`ed to localhost:5001 and pulled
 * with imagePullPolicy Always, a claim on the default StorageClass that binds
 * and keeps its data through a pod's deletion and kc stop/start, `kubectl
 * top`, and a CPU HorizontalPodAutoscaler that scales. Then a cluster with
 * the add-ons switched off has none of it.
 */
const NAME = testClusterName('apps');
const BARE = testClusterName('bare');
const engine = new DockerEngine();
const execFileAsync = promisify(execFile);
/**
 * A shell for the workloads without a registry: every node carries the
 * local-path-provisioner image, which has busybox (its helper pods run scripts).
 */
const SHELL_IMAGE = podImagesFor(DEFAULT_RELEASE).localPathProvisioner;
const REGISTRY = `localhost:${DEFAULT_REGISTRY_PORT}`;
const PUSHED_IMAGE = `${REGISTRY}/kc-web:${NAME}`;
let dir: string;
let kubeconfig: string;
let kubectl: ReturnType<typeof kubectlFor>;

const statefulSet = {
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'db', namespace: 'default' },
  spec: {
    serviceName: 'db',
    replicas: 1,
    selector: { matchLabels: { app: 'db' } },
    template: {
      metadata: { labels: { app: 'db' } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'db',
            image: SHELL_IMAGE,
            imagePullPolicy: 'Never',
            // Each start appends a line to the volume, then shows them all.
            command: ['sh', '-c', 'echo "start $(hostname)" >> /data/starts && cat /data/starts && exec sleep 86400'],
            volumeMounts: [{ name: 'data', mountPath: '/data' }],
          },
        ],
      },
    },
    // No storageClassName: the cluster's default must serve it.
    volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
  },
};

const spinner = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'spin', namespace: 'default' },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'spin' } },
    template: {
      metadata: { labels: { app: 'spin' } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'spin',
            image: SHELL_IMAGE,
            imagePullPolicy: 'Never',
            command: ['sh', '-c', 'while :; do :; done'],
            // A small request and a limit: far above 50% of what it asks for, without taking a core from the machine.
            resources: { requests: { cpu: '20m' }, limits: { cpu: '100m' } },
          },
        ],
      },
    },
  },
};

const autoscaler = {
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name: 'spin', namespace: 'default' },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'spin' },
    minReplicas: 1,
    maxReplicas: 2,
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }],
  },
};

/** The lines the db pod printed since its last start: one per start so far. */
async function startsSeen(): Promise<string[]> {
  await kubectl(['rollout', 'status', 'statefulset/db', '--timeout=180s']);
  await kubectl(['wait', '--for=condition=Ready', 'pod/db-0', '--timeout=180s']);
  let lines: string[] = [];
  await waitUntil('db-0 to print its starts', async () => {
    lines = (await kubectl(['logs', 'db-0'])).split('\n').filter((l) => l.startsWith('start '));
    return lines.length > 0 || 'no output yet';
  }, { timeoutMs: 60_000 });
  return lines;
}

describe('an application on a default cluster: storage, metrics, autoscaling', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kc-apps-'));
    kubeconfig = join(dir, 'kubeconfig');
    kubectl = kubectlFor(kubeconfig, `kc-${NAME}`);
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    const created = await expectOk(['create', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    expect(created.stderr).toContain('Installing add-ons (RBAC, CoreDNS, storage, metrics-server, kube-router on 2 workers)');
    expect(created.stderr).toMatch(/Starting registry \(localhost:5001, [\d.]+\.3 on the cluster network/);
  }, 600_000);

  afterAll(async () => {
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    await kc(['delete', 'cluster', '--name', BARE, '--kubeconfig', kubeconfig]);
    await execFileAsync('docker', ['image', 'rm', '--force', PUSHED_IMAGE]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }, 180_000);

  it('pulls an image pushed to localhost:5001 from the host, with imagePullPolicy Always', async () => {
    await buildWebImage(PUSHED_IMAGE);
    await execFileAsync('docker', ['push', PUSHED_IMAGE]);
    await kubectl(['create', 'deployment', 'web', `--image=${PUSHED_IMAGE}`, '--', '/kc-web', 'serve']);
    await kubectl(['patch', 'deployment', 'web', '--type=json', '-p', '[{"op":"replace","path":"/spec/template/spec/containers/0/imagePullPolicy","value":"Always"}]']);
    await kubectl(['rollout', 'status', 'deployment/web', '--timeout=180s']);
    const pulled = await kubectl(['get', 'events', '--field-selector', 'reason=Pulled', '-o', 'jsonpath={range .items[*]}{.message}{"\\n"}{end}']);
    expect(pulled).toContain(`Successfully pulled image "${PUSHED_IMAGE}"`);
    expect((await engine.registryState(registryName(DEFAULT_REGISTRY_PORT)))?.networks).toContain(`kc-${NAME}`);
  }, 600_000);

  it('binds a claim on the default class; the data survives the pod and kc stop/start', async () => {
    await kubectl(['apply', '-f', '-'], JSON.stringify(statefulSet));
    expect(await startsSeen()).toEqual(['start db-0']);
    expect(await kubectl(['get', 'pvc', 'data-db-0', '-o', 'jsonpath={.status.phase} {.spec.storageClassName}'])).toBe('Bound standard');

    await kubectl(['delete', 'pod', 'db-0', '--wait=true']);
    expect(await startsSeen()).toEqual(['start db-0', 'start db-0']);

    await expectOk(['stop', 'cluster', '--name', NAME]);
    await expectOk(['start', 'cluster', '--name', NAME]);
    expect(await startsSeen()).toEqual(['start db-0', 'start db-0', 'start db-0']);
    // The web pod restarted with its node and pulled its image again (Always): the registry is still there.
    await kubectl(['rollout', 'status', 'deployment/web', '--timeout=180s']);
  }, 600_000);

  it('answers kubectl top, and a CPU HorizontalPodAutoscaler scales a busy Deployment', async () => {
    let top = '';
    await waitUntil('kubectl top nodes to give figures', async () => {
      top = await kubectl(['top', 'nodes', '--no-headers']).catch((error: unknown) => String(error));
      return /^\S+-worker-0\s+\d+m\s+\d+%\s+\d+Mi/m.test(top) && /^\S+-worker-1\s+\d+m/m.test(top) ? true : top;
    }, { timeoutMs: 180_000, intervalMs: 2000 });

    await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [spinner, autoscaler] }));
    let seen = '';
    await waitUntil('the HPA to report CPU and scale to 2', async () => {
      seen = await kubectl(['get', 'hpa', 'spin', '-o', 'jsonpath={.status.currentMetrics[0].resource.current.averageUtilization} {.status.desiredReplicas}']);
      const [utilization, desired] = seen.split(' ');
      return (Number(utilization) > 50 && desired === '2') || `utilization/desired: ${seen || 'nothing yet'}`;
    }, { timeoutMs: 300_000, intervalMs: 2000 });
    await kubectl(['rollout', 'status', 'deployment/spin', '--timeout=180s']);
    expect(await kubectl(['get', 'deployment', 'spin', '-o', 'jsonpath={.status.readyReplicas}'])).toBe('2');
    expect((await expectOk(['get', 'clusters'])).stdout).toMatch(new RegExp(`^${NAME}\\trunning\\t5 nodes\\tstorage ready, metrics-server ready, registry ready$`, 'm'));
  }, 600_000);

  it('leaves the add-ons out when told: no StorageClass, no metrics API, no volume for them', async () => {
    const bareConfig = join(dir, 'bare-kubeconfig');
    const created = await expectOk([
      'create', 'cluster', '--name', BARE, '--control-planes', '1', '--workers', '1',
      '--disable', 'storage', '--disable', 'metrics-server', '--disable', 'registry', '--kubeconfig', bareConfig,
    ]);
    expect(created.stderr).toContain('Installing add-ons (RBAC, CoreDNS, kube-router on 1 worker)');
    const bare = kubectlFor(bareConfig, `kc-${BARE}`);
    expect(await bare(['get', 'storageclass', '-o', 'name'])).toBe('');
    expect(await bare(['get', 'apiservice', '-o', 'name'])).not.toContain('metrics.k8s.io');
    expect(await engine.listVolumes({ [LABEL_CLUSTER]: BARE })).toEqual([`${BARE}-worker-0-containerd`]);
    expect((await engine.registryState(registryName(DEFAULT_REGISTRY_PORT)))?.networks ?? []).not.toContain(`kc-${BARE}`);
    await expectOk(['delete', 'cluster', '--name', BARE, '--kubeconfig', bareConfig]);
  }, 600_000);

  it('kc delete cluster takes the volumes with it, and the registry when no other cluster uses it', async () => {
    expect((await clusterResources(NAME)).volumes).toBe(4);
    const registry = registryName(DEFAULT_REGISTRY_PORT);
    // Other kc clusters on this machine may share the registry: only theirs keep it.
    const others = ((await engine.registryState(registry))?.networks ?? []).filter((n) => n !== `kc-${NAME}` && n !== 'bridge');
    await expectOk(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    expect(await clusterResources(NAME)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    const after = await engine.registryState(registry);
    if (others.length === 0) expect(after).toBeUndefined();
    else expect(after?.networks).not.toContain(`kc-${NAME}`);
  }, 180_000);
});
