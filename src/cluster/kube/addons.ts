import { addonCustomResources, addonManifests, addonNamespaces, enabledAddons, type AddonWorkload, type InClusterAddon } from '../../components/addons.js';
import type { ClusterPlan } from '../../model/plan.js';
import { apiGetJson, isReady, type Condition, type HostApi } from './api.js';
import { concurrently } from '../../util/concurrent.js';

/** An add-on as `kc create cluster` and `kc get clusters` report it. */
export interface AddonStatus {
  name: string;
  /**
   * `ready`: it serves (a pod of it Ready as its kubelet sees it now, and
   * what it serves answering; the registry's container runs); `starting`: not yet; `stopped`: the registry's container
   * is stopped (kc start cluster starts it); `unknown`: the API did not say.
   */
  status: 'ready' | 'starting' | 'stopped' | 'unknown';
}

interface DeploymentObject {
  spec?: { selector?: { matchLabels?: Record<string, string> } };
}

interface PodObject {
  metadata: { name: string; namespace?: string; uid?: string };
  spec?: { nodeName?: string };
  status?: { conditions?: Condition[] };
}

/** What an add-on serves, asked of the API server: answered only while the add-on really serves. */
const SERVES: Partial<Record<InClusterAddon, string>> = {
  // The resource metrics API, through the aggregator: 503 until metrics-server answers and has scraped.
  metricsServer: '/apis/metrics.k8s.io/v1beta1/nodes',
};

/**
 * Whether one of the add-on's pods is Ready as its kubelet sees it now (the
 * node's /pods, through the API server's node proxy), not as the Pod object
 * last said: right after `kc start cluster` the Pod objects still carry the
 * status from before the stop until each kubelet has synced.
 */
async function readyOnItsNode(api: HostApi, workload: AddonWorkload): Promise<boolean> {
  const deployment = await apiGetJson<DeploymentObject>(api, `/apis/apps/v1/namespaces/${workload.namespace}/deployments/${workload.deployment}`);
  const labels = Object.entries(deployment.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  const pods = await apiGetJson<{ items: PodObject[] }>(api, `/api/v1/namespaces/${workload.namespace}/pods?labelSelector=${encodeURIComponent(labels)}`);
  for (const node of new Set(pods.items.map((pod) => pod.spec?.nodeName).filter((n): n is string => n !== undefined))) {
    const live = await apiGetJson<{ items: PodObject[] }>(api, `/api/v1/nodes/${node}/proxy/pods`).catch(() => ({ items: [] }));
    const ours = new Set(pods.items.map((pod) => pod.metadata.uid));
    if (live.items.some((pod) => ours.has(pod.metadata.uid) && isReady(pod))) return true;
  }
  return false;
}

async function statusOf(api: HostApi, workload: AddonWorkload): Promise<AddonStatus> {
  try {
    if (!(await readyOnItsNode(api, workload))) return { name: workload.name, status: 'starting' };
    const serves = SERVES[workload.addon];
    if (serves === undefined) return { name: workload.name, status: 'ready' };
    const answer = await api.probe(api.server, api.pki, serves);
    return { name: workload.name, status: answer.status === 200 ? 'ready' : 'starting' };
  } catch {
    // A stopped cluster, or one whose API is busy: say so rather than fail a listing.
    return { name: workload.name, status: 'unknown' };
  }
}

/**
 * Whether each add-on the cluster runs is serving, read live: a pod of it
 * Ready as its kubelet sees it now, and what it serves answering (the metrics
 * API for metrics-server). Create does not wait for them (the cluster is
 * usable before metrics-server has scraped once); it says which are still
 * starting, and `kc get clusters` and `kc start cluster` say when they are ready.
 */
export async function addonStatuses(api: HostApi, plan: ClusterPlan): Promise<AddonStatus[]> {
  return concurrently(enabledAddons(plan), (workload) => statusOf(api, workload));
}

/** `storage ready, metrics-server starting`; empty for a cluster without add-ons. */
export function describeAddons(statuses: readonly AddonStatus[]): string {
  return statuses.map((s) => `${s.name} ${s.status}`).join(', ');
}

/** kubectl on a master: `args`, with `input` on its stdin. */
export type RunKubectl = (args: string[], input?: string) => Promise<string>;

/**
 * kubectl apply, server-side: one request per object where client-side apply
 * reads each first and stores a copy of it in an annotation (the add-ons' 50
 * objects took 0.5 to 1 s more of every create). kc owns these objects:
 * fields someone else changed are taken back, as a client-side apply did.
 */
const APPLY = ['apply', '--server-side', '--force-conflicts', '--field-manager=kc', '-f', '-'];

/**
 * Applies RBAC, CoreDNS and the add-ons (with their CRDs): what create
 * applies, and an upgrade again. CRDs no workload needs to start (the Gateway
 * API's 1.2 MB of schemas, which take the API servers seconds of CPU) go in a
 * second kubectl at the same time: the stream's requests, one after the other,
 * mostly wait, and the schemas take that time instead of adding to it.
 */
export async function applyAddons(kubectl: RunKubectl, plan: ClusterPlan): Promise<void> {
  const definitions = addonCustomResources(plan).flatMap((resources) => (resources.definitions === undefined ? [] : [resources.definitions]));
  await concurrently([addonManifests(plan), ...definitions], (documents) => kubectl(APPLY, documents));
}

/**
 * Applies each add-on's custom resources (MetalLB's address pool, the
 * ingress's GatewayClass) once their CRDs are established: in the stream
 * above, kubectl would send them before the API server serves their kind.
 * The first object of a new kind takes the API server about 2 s (it sets up
 * that kind's storage), so create runs this while it waits for the nodes, and
 * the add-ons' at once.
 */
export async function applyAddonResources(kubectl: RunKubectl, plan: ClusterPlan, timeoutSeconds: number): Promise<void> {
  await concurrently(addonCustomResources(plan), async (resources) => {
    await kubectl(['wait', '--for=condition=Established', `--timeout=${Math.max(1, Math.floor(timeoutSeconds))}s`, ...resources.crds.map((crd) => `crd/${crd}`)]);
    await kubectl(APPLY, resources.manifest);
  });
}

/**
 * Restarts the Deployments and DaemonSets of kc's add-on namespaces and waits
 * until each has rolled out (its old pods gone): their pods read the
 * cluster's CA bundle (kube-root-ca.crt) once, at start. All at once, each
 * as its own strategy does it (CoreDNS keeps a replica serving); the wait is
 * the slowest's (metrics-server's, ready after its first scrape).
 */
export async function restartAddonPods(kubectl: RunKubectl, plan: ClusterPlan, timeoutSeconds: number): Promise<string[]> {
  const workloads: Array<{ namespace: string; name: string }> = [];
  for (const namespace of addonNamespaces(plan)) {
    const names = (await kubectl(['get', 'deployments,daemonsets', '-n', namespace, '-o', 'name'])).split('\n').map((n) => n.trim()).filter(Boolean);
    if (names.length === 0) continue;
    await kubectl(['rollout', 'restart', '-n', namespace, ...names]);
    workloads.push(...names.map((name) => ({ namespace, name })));
  }
  const timeout = `--timeout=${Math.max(1, Math.floor(timeoutSeconds))}s`;
  await concurrently(workloads, ({ namespace, name }) => kubectl(['rollout', 'status', '-n', namespace, name, timeout]));
  return workloads.map(({ namespace, name }) => `${namespace}/${name.replace(/^[^/]+\//, '')}`);
}
