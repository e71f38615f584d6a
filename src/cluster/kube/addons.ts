import { addonCustomResources, addonManifests, addonNamespaces, enabledAddons, type AddonWorkload } from '../../components/addons.js';
import type { ClusterPlan } from '../../model/plan.js';
import { apiGetJson, type HostApi } from './api.js';

/** An add-on as `kc create cluster` and `kc get clusters` report it. */
export interface AddonStatus {
  name: string;
  /**
   * `ready`: it serves (its Deployment has an available pod, the registry's
   * container runs); `starting`: not yet; `stopped`: the registry's container
   * is stopped (kc start cluster starts it); `unknown`: the API did not say.
   */
  status: 'ready' | 'starting' | 'stopped' | 'unknown';
}

interface DeploymentStatus {
  status?: { availableReplicas?: number };
}

async function statusOf(api: HostApi, workload: AddonWorkload): Promise<AddonStatus> {
  const path = `/apis/apps/v1/namespaces/${workload.namespace}/deployments/${workload.deployment}`;
  try {
    const deployment = await apiGetJson<DeploymentStatus>(api, path);
    return { name: workload.name, status: (deployment.status?.availableReplicas ?? 0) > 0 ? 'ready' : 'starting' };
  } catch {
    // A stopped cluster, or one whose API is busy: say so rather than fail a listing.
    return { name: workload.name, status: 'unknown' };
  }
}

/**
 * Whether each add-on the cluster runs is serving. Create does not wait for
 * them (the cluster is usable before metrics-server has scraped once); it says
 * which are still starting, and `kc get clusters` says when they are ready.
 */
export async function addonStatuses(api: HostApi, plan: ClusterPlan): Promise<AddonStatus[]> {
  return Promise.all(enabledAddons(plan).map((workload) => statusOf(api, workload)));
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
  await Promise.all([kubectl(APPLY, addonManifests(plan)), ...definitions.map((documents) => kubectl(APPLY, documents))]);
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
  await Promise.all(
    addonCustomResources(plan).map(async (resources) => {
      await kubectl(['wait', '--for=condition=Established', `--timeout=${Math.max(1, Math.floor(timeoutSeconds))}s`, ...resources.crds.map((crd) => `crd/${crd}`)]);
      await kubectl(APPLY, resources.manifest);
    }),
  );
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
  await Promise.all(workloads.map(({ namespace, name }) => kubectl(['rollout', 'status', '-n', namespace, name, timeout])));
  return workloads.map(({ namespace, name }) => `${namespace}/${name.replace(/^[^/]+\//, '')}`);
}
