import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RELEASE, METALLB_VERSION, podImagesFor } from '../../src/artifacts/manifest.js';
import { addonCustomResources, addonManifests, enabledAddons } from '../../src/components/addons.js';
import { addonStatuses } from '../../src/cluster/kube/addons.js';
import { METALLB_POOL, metallbCrds } from '../../src/components/metallb.js';
import { localVolumesOn, STORAGE_CLASS, type PersistentVolumeList } from '../../src/components/local-path-storage.js';
import { specFromFlags } from '../../src/cli/create-cluster.js';
import { defaultClusterSpec } from '../../src/config/defaults.js';
import { resolveClusterSpec } from '../../src/config/resolve.js';
import type { Addons } from '../../src/config/types.js';
import { parseClusterConfig } from '../../src/config/v1alpha1.js';
import { ValidationError } from '../../src/config/validate.js';
import { MAX_WORKERS, planCluster, type ClusterPlan } from '../../src/model/plan.js';
import { migrateState, STATE_SCHEMA_VERSION } from '../../src/state/cluster-state.js';

const HEADER = 'apiVersion: kc.dev/v1alpha1\nkind: Cluster\n';
const IMAGES = podImagesFor(DEFAULT_RELEASE);

const planWith = (addons?: Partial<Addons>): ClusterPlan =>
  planCluster(defaultClusterSpec({ name: 'apps', addons: { ...defaultClusterSpec().addons, ...addons } }), '172.30.4.0/24');

interface K8sObject {
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  [key: string]: unknown;
}

const objectsOf = (plan: ClusterPlan): K8sObject[] => parseAllDocuments(addonManifests(plan)).map((d) => d.toJSON() as K8sObject);
const find = (objects: K8sObject[], kind: string, name: string): K8sObject | undefined => objects.find((o) => o.kind === kind && o.metadata.name === name);
interface Container {
  image: string;
  args?: string[];
}
function containerOf(deployment: K8sObject | undefined): Container {
  const containers = (deployment as unknown as { spec: { template: { spec: { containers: Container[] } } } }).spec.template.spec.containers;
  const [first] = containers;
  if (!first) throw new Error('the Deployment has no container');
  return first;
}

describe('the add-ons a cluster runs', () => {
  it('ships a default StorageClass "standard" that waits for the first consumer, served by local-path-provisioner', () => {
    const objects = objectsOf(planWith());
    const storageClass = find(objects, 'StorageClass', STORAGE_CLASS);
    expect(storageClass?.metadata.annotations).toEqual({ 'storageclass.kubernetes.io/is-default-class': 'true' });
    expect(storageClass).toMatchObject({ provisioner: 'rancher.io/local-path', volumeBindingMode: 'WaitForFirstConsumer', reclaimPolicy: 'Delete' });
    expect(containerOf(find(objects, 'Deployment', 'local-path-provisioner')).image).toBe(IMAGES.localPathProvisioner);
    const config = find(objects, 'ConfigMap', 'local-path-config') as unknown as { data: Record<string, string> };
    // Volumes live where each worker mounts its own volume, and helpers run the provisioner's image: nothing is pulled.
    expect(JSON.parse(config.data['config.json'] ?? '')).toEqual({ nodePathMap: [{ node: 'DEFAULT_PATH_FOR_NON_LISTED_NODES', paths: ['/var/local-path-provisioner'] }] });
    expect(config.data['helperPod.yaml']).toContain(`image: ${IMAGES.localPathProvisioner}`);
  });

  it('runs metrics-server checking kubelets against the cluster CA, never with --kubelet-insecure-tls', () => {
    const objects = objectsOf(planWith());
    const container = containerOf(find(objects, 'Deployment', 'metrics-server'));
    expect(container.image).toBe(IMAGES.metricsServer);
    expect(container.args).toContain('--kubelet-certificate-authority=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt');
    expect(container.args?.some((a) => a.includes('insecure'))).toBe(false);
    expect(find(objects, 'APIService', 'v1beta1.metrics.k8s.io')).toBeDefined();
    expect(find(objects, 'RoleBinding', 'metrics-server-auth-reader')).toBeDefined();
  });

  it('runs MetalLB without its webhook, with a pool at the top of the cluster network that no node address reaches', () => {
    const plan = planWith();
    const objects = objectsOf(plan);
    const controller = containerOf(find(objects, 'Deployment', 'controller'));
    expect(controller.image).toBe(IMAGES.metallbController);
    expect(controller.args).toContain('--webhook-mode=disabled');
    expect(objects.some((o) => o.kind === 'ValidatingWebhookConfiguration')).toBe(false);
    expect(find(objects, 'DaemonSet', 'speaker')).toMatchObject({ spec: { template: { spec: { hostNetwork: true } } } });
    expect(objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name)).toContain('ipaddresspools.metallb.io');
    // The CRDs kc ships are the ones of the MetalLB it builds (scripts/vendor-metallb-crds.sh).
    expect(metallbCrds().version).toBe(METALLB_VERSION);
    // The pool is applied after the stream, once its CRD is established.
    const [pool] = addonCustomResources(plan);
    expect(pool?.crds).toEqual(['ipaddresspools.metallb.io', 'l2advertisements.metallb.io']);
    const resources = parseAllDocuments(pool?.manifest ?? '').map((d) => d.toJSON() as K8sObject & { spec: Record<string, unknown> });
    expect(resources.map((r) => `${r.kind}/${r.metadata.name}`)).toEqual([`IPAddressPool/${METALLB_POOL}`, `L2Advertisement/${METALLB_POOL}`]);
    expect(resources[0]?.spec.addresses).toEqual(['172.30.4.200-172.30.4.254']);
    const lastWorker = planCluster(defaultClusterSpec({ name: 'apps', workers: MAX_WORKERS }), '172.30.4.0/24').workers.at(-1);
    expect(lastWorker?.ip).toBe('172.30.4.199');
  });

  it('gives LoadBalancer Services a cloud\'s lifecycle with kc\'s cloud controller: Kubernetes\' service controller, in MetalLB\'s namespace', () => {
    const objects = objectsOf(planWith());
    const deployment = find(objects, 'Deployment', 'kc-cloud-controller') as K8sObject & { spec: { replicas: number; strategy: { type: string } } };
    expect(deployment.metadata.namespace).toBe('metallb-system');
    // One at a time: two would race on the same finalizers.
    expect(deployment.spec).toMatchObject({ replicas: 1, strategy: { type: 'Recreate' } });
    const container = containerOf(deployment);
    expect(container.image).toBe(IMAGES.cloudController);
    expect(container.args).toEqual(['--cluster-name=apps']);
    const role = find(objects, 'ClusterRole', 'kc:kc-cloud-controller') as K8sObject & { rules: { resources: string[]; verbs: string[] }[] };
    // It patches a Service's finalizers and its status, and watches nodes.
    expect(role.rules).toEqual(expect.arrayContaining([
      expect.objectContaining({ resources: ['services'], verbs: expect.arrayContaining(['patch', 'watch']) }),
      expect.objectContaining({ resources: ['services/status'], verbs: expect.arrayContaining(['patch']) }),
      expect.objectContaining({ resources: ['nodes'], verbs: expect.arrayContaining(['list', 'watch']) }),
    ]));
    expect(objectsOf(planWith({ loadBalancer: false })).some((o) => o.metadata.name === 'kc-cloud-controller')).toBe(false);
  });

  it('leaves out what is switched off, and renders the same stream for the same plan', () => {
    const plan = planWith({ storage: false, loadBalancer: false, ingress: false });
    expect(enabledAddons(plan).map((a) => a.name)).toEqual(['metrics-server']);
    expect(enabledAddons(planWith()).map((a) => a.name)).toEqual(['storage', 'metrics-server', 'load-balancer', 'ingress']);
    expect(addonCustomResources(plan)).toEqual([]);
    expect(objectsOf(plan).some((o) => o.metadata.namespace === 'metallb-system')).toBe(false);
    const objects = objectsOf(plan);
    expect(objects.some((o) => o.kind === 'StorageClass' || o.metadata.namespace === 'local-path-storage')).toBe(false);
    expect(find(objects, 'Deployment', 'coredns')).toBeDefined();
    expect(addonManifests(planWith())).toBe(addonManifests(planWith()));
    const none = objectsOf(planWith({ storage: false, metricsServer: false }));
    expect(none.map((o) => o.metadata.name)).not.toContain('metrics-server');
  });
});

describe('switching add-ons off', () => {
  const file = (text: string) => parseClusterConfig(`${HEADER}${text}`, 'apps.yaml');

  it('takes addons: from the file and --disable from the flags, one by one', () => {
    expect(resolveClusterSpec(undefined, {}).addons).toEqual({ storage: true, metricsServer: true, registry: true, loadBalancer: true, ingress: true });
    expect(resolveClusterSpec(file('addons: {metricsServer: false}\n'), {}).addons).toEqual({ storage: true, metricsServer: false, registry: true, loadBalancer: true, ingress: true });
    // A flag that switches one off leaves the file's choice for the other.
    const both = resolveClusterSpec(file('addons: {metricsServer: false}\n'), specFromFlags({ disable: ['storage'] }));
    expect(both.addons).toEqual({ storage: false, metricsServer: false, registry: true, loadBalancer: true, ingress: true });
    expect(resolveClusterSpec(undefined, specFromFlags({ disable: ['metrics-server', 'load-balancer', 'ingress'] })).addons).toEqual({ storage: true, metricsServer: false, registry: true, loadBalancer: false, ingress: false });
    expect(resolveClusterSpec(file('registryPort: 5002\n'), specFromFlags({ 'registry-port': 5003 })).registryPort).toBe(5003);
    // A bare --disable names nothing: refused rather than read as "leave nothing out".
    expect(() => specFromFlags({ disable: [] })).toThrow('--disable needs an add-on to leave out: one of storage, metrics-server, registry, load-balancer, ingress');
    // A word where a port goes reaches kc as NaN: said as such, not as JSON's null.
    expect(() => resolveClusterSpec(undefined, specFromFlags({ 'registry-port': Number('abc') }))).toThrow(
      '--registry-port: not a number is not valid; use a whole number from 1 to 65535',
    );
  });

  it('refuses an unknown add-on or a value that is not true or false, with the file, line and what is allowed', () => {
    const errorOf = (text: string): string => {
      try {
        file(text);
      } catch (error) {
        expect(error).toBeInstanceOf(ValidationError);
        return (error as Error).message;
      }
      throw new Error('no error');
    };
    expect(errorOf('addons:\n  metrics: false\n')).toBe('apps.yaml:4: addons.metrics is not a known key; use one of storage, metricsServer, registry, loadBalancer, ingress');
    expect(errorOf('registryPort: 70000\n')).toBe('apps.yaml:3: registryPort: 70000 is not valid; use a whole number from 1 to 65535');
    expect(errorOf('addons: {storage: no}\n')).toBe('apps.yaml:3: addons.storage: "no" is not valid; use true or false');
    expect(errorOf('addons: [storage]\n')).toBe('apps.yaml:3: addons: ["storage"] is not valid; use a mapping with keys storage, metricsServer, registry, loadBalancer, ingress');
  });

  it('gives a cluster made before add-ons none: an upgrade must not add them unasked', () => {
    const plan = planWith();
    const { addons: _addons, ...oldSpec } = plan.spec;
    const old = { schemaVersion: STATE_SCHEMA_VERSION, plan: { ...plan, spec: oldSpec }, pki: { ca: { certPem: 'x' } }, kubeconfigPaths: [] };
    expect(migrateState(old, 'f.json', 'apps').plan.spec.addons).toEqual({ storage: false, metricsServer: false, registry: false, loadBalancer: false, ingress: false });
    expect(migrateState({ ...old, plan }, 'f.json', 'apps').plan.spec.addons).toEqual({ storage: true, metricsServer: true, registry: true, loadBalancer: true, ingress: true });
    // Made before the load balancer: it keeps the add-ons it had, without one.
    const beforeLoadBalancer = { ...plan, spec: { ...plan.spec, addons: { storage: true, metricsServer: true, registry: true } } };
    expect(migrateState({ ...old, plan: beforeLoadBalancer }, 'f.json', 'apps').plan.spec.addons).toEqual({ storage: true, metricsServer: true, registry: true, loadBalancer: false, ingress: false });
  });
});

describe('the volumes a worker holds', () => {
  const pv = (name: string, node: string, claim?: string, storageClassName = STORAGE_CLASS) => ({
    metadata: { name },
    spec: {
      storageClassName,
      ...(claim ? { claimRef: { namespace: 'db', name: claim } } : {}),
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] }] } },
    },
  });

  it('names the standard volumes pinned to that worker by their claims', () => {
    const list: PersistentVolumeList = {
      items: [pv('pvc-1', 'apps-worker-0', 'data-db-0'), pv('pvc-2', 'apps-worker-1', 'data-db-1'), pv('pvc-3', 'apps-worker-0'), pv('nfs', 'apps-worker-0', 'x', 'nfs')],
    };
    expect(localVolumesOn(list, 'apps-worker-0')).toEqual(['db/data-db-0', 'pvc-3']);
    expect(localVolumesOn({ items: [] }, 'apps-worker-0')).toEqual([]);
  });
});

describe('whether an add-on serves, read live', () => {
  const plan = planWith({ storage: false, loadBalancer: false, ingress: false });
  const pod = (ready: boolean) => ({ metadata: { name: 'metrics-server-1', uid: 'u1' }, spec: { nodeName: 'apps-worker-0' }, status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } });
  /** An API server whose Pod objects say Ready (as before a stop), while the kubelet and the metrics API say what `live` says. */
  const api = (live: { kubeletReady: boolean; metrics: number }) => ({
    server: 'https://127.0.0.1:1',
    pki: {} as never,
    probe: async (_server: string, _pki: unknown, path: string) => {
      if (path.startsWith('/apis/apps/v1/')) return { status: 200, body: JSON.stringify({ spec: { selector: { matchLabels: { 'k8s-app': 'metrics-server' } } }, status: { availableReplicas: 1 } }) };
      if (path.includes('/pods?labelSelector=')) return { status: 200, body: JSON.stringify({ items: [pod(true)] }) };
      if (path === '/api/v1/nodes/apps-worker-0/proxy/pods') return { status: 200, body: JSON.stringify({ items: [pod(live.kubeletReady)] }) };
      if (path === '/apis/metrics.k8s.io/v1beta1/nodes') return { status: live.metrics, body: '' };
      return { status: 404, body: '' };
    },
  });

  it('says starting right after a start: the Deployment still counts its pod available, its kubelet does not', async () => {
    expect(await addonStatuses(api({ kubeletReady: false, metrics: 503 }), plan)).toEqual([{ name: 'metrics-server', status: 'starting' }]);
  });

  it('says starting while the metrics API answers 503, though the pod is Ready', async () => {
    expect(await addonStatuses(api({ kubeletReady: true, metrics: 503 }), plan)).toEqual([{ name: 'metrics-server', status: 'starting' }]);
  });

  it('says ready once the kubelet has the pod Ready and the metrics API answers', async () => {
    expect(await addonStatuses(api({ kubeletReady: true, metrics: 200 }), plan)).toEqual([{ name: 'metrics-server', status: 'ready' }]);
  });
});

