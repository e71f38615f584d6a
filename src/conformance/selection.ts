/**
 * Which upstream e2e tests a `kc conformance` run selects: pure, so the
 * choices and their errors are unit-tested.
 */

/** Never in a shared run: they break nodes on purpose, are known flaky, or must run alone. */
export const ALWAYS_SKIPPED = '\\[Serial\\]|\\[Disruptive\\]|\\[Flaky\\]';
export const CONFORMANCE_FOCUS = '\\[Conformance\\]';

/**
 * The CI subset: conformance tests from every SIG, weighted toward the paths
 * a kc cluster builds itself (API servers calling webhooks, aggregated APIs
 * and pods/proxy; DNS; Services; kubelet, kube-proxy and the pod network).
 * Sized for about 15 minutes on 2 cores with 3 parallel processes.
 */
export const CI_SUBSET: readonly string[] = [
  '[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] should be able to deny pod and configmap creation [Conformance]',
  '[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] should mutate pod and apply defaults after mutation [Conformance]',
  '[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] listing validating webhooks should work [Conformance]',
  '[sig-api-machinery] CustomResourceConversionWebhook [Privileged:ClusterAdmin] should be able to convert from CR v1 to CR v2 [Conformance]',
  '[sig-api-machinery] Aggregator Should be able to support the 1.17 Sample API Server using the current Aggregator [LinuxOnly] [Conformance]',
  '[sig-api-machinery] CustomResourceDefinition resources [Privileged:ClusterAdmin] Simple CustomResourceDefinition creating/deleting custom resource definition objects works [Conformance]',
  '[sig-api-machinery] Garbage collector should delete RS created by deployment when not orphaning [Conformance]',
  '[sig-api-machinery] ResourceQuota should create a ResourceQuota and capture the life of a pod. [Conformance]',
  '[sig-api-machinery] Watchers should observe add, update, and delete watch notifications on configmaps [Conformance]',
  '[sig-api-machinery] server version should find the server version [Conformance]',
  '[sig-apps] Deployment RollingUpdateDeployment should delete old pods and create new ones [Conformance]',
  '[sig-apps] Job should run a job to completion when tasks sometimes fail and are locally restarted [Conformance]',
  '[sig-apps] ReplicaSet should serve a basic image on each replica with a public image [Conformance]',
  '[sig-apps] ReplicationController should serve a basic image on each replica with a public image [Conformance]',
  '[sig-apps] StatefulSet Basic StatefulSet functionality [StatefulSetBasic] should list, patch and delete a collection of StatefulSets [Conformance]',
  '[sig-architecture] Conformance Tests should have at least two untainted nodes [Conformance]',
  '[sig-auth] Certificates API [Privileged:ClusterAdmin] should support CSR API operations [Conformance]',
  '[sig-auth] ServiceAccounts should mount an API token into pods [Conformance]',
  '[sig-auth] SubjectReview should support SubjectReview API operations [Conformance]',
  '[sig-cli] Kubectl client Kubectl version should check is all data is printed [Conformance]',
  '[sig-cli] Kubectl client Proxy server should support proxy with --port 0 [Conformance]',
  '[sig-cli] Kubectl client Update Demo should create and stop a replication controller [Conformance]',
  '[sig-cli] Kubectl logs logs should be able to retrieve and filter logs [Conformance]',
  '[sig-instrumentation] Events API should ensure that an event can be fetched, patched, deleted, and listed [Conformance]',
  '[sig-network] API Server should provide secure master service [Conformance]',
  '[sig-network] DNS should provide DNS for services [Conformance]',
  '[sig-network] DNS should provide DNS for the cluster [Conformance]',
  '[sig-network] DNS should provide DNS for pods for Hostname [Conformance]',
  '[sig-network] EndpointSlice should create Endpoints and EndpointSlices for Pods matching a Service [Conformance]',
  '[sig-network] HostPort validates that there is no conflict between pods with same hostPort but different hostIP and protocol [LinuxOnly] [Conformance]',
  '[sig-network] Networking Granular Checks: Pods should function for intra-pod communication: http [Conformance] [NodeConformance]',
  '[sig-network] Networking Granular Checks: Pods should function for node-pod communication: udp [LinuxOnly] [Conformance] [NodeConformance]',
  '[sig-network] Proxy version v1 should proxy through a service and a pod [Conformance]',
  '[sig-network] Proxy version v1 A set of valid responses are returned for both pod and service Proxy [Conformance]',
  '[sig-network] Services should serve a basic endpoint from pods [Conformance]',
  '[sig-network] Services should be able to create a functioning NodePort service [Conformance]',
  '[sig-network] Services should have session affinity work for service with type clusterIP [LinuxOnly] [Conformance]',
  '[sig-node] Container Lifecycle Hook when create a pod with lifecycle hook should execute poststart exec hook properly [Conformance] [NodeConformance]',
  '[sig-node] Container Runtime blackbox test when starting a container that exits should run with the expected status [Conformance] [NodeConformance]',
  '[sig-node] InitContainer should invoke init containers on a RestartNever pod [Conformance] [NodeConformance]',
  '[sig-node] Kubelet when scheduling a busybox command that always fails in a pod should have an terminated reason [Conformance] [NodeConformance]',
  '[sig-node] Pods should contain environment variables for services [Conformance] [NodeConformance]',
  '[sig-node] Pods should get a host IP [Conformance] [NodeConformance]',
  '[sig-node] PreStop should call prestop when killing a pod [Conformance]',
  '[sig-node] Secrets should be consumable via the environment [Conformance] [NodeConformance]',
  '[sig-node] Sysctls [LinuxOnly] should support sysctls [Environment:NotInUserNS] [Conformance] [NodeConformance]',
  '[sig-node] Variable Expansion should allow composing env vars into new env vars [Conformance] [NodeConformance]',
  '[sig-scheduling] LimitRange should create a LimitRange with defaults and ensure pod has those defaults applied. [Conformance]',
  '[sig-storage] ConfigMap should be consumable from pods in volume [Conformance] [NodeConformance]',
  '[sig-storage] Downward API volume should provide podname only [Conformance] [NodeConformance]',
  '[sig-storage] EmptyDir volumes should support (root,0644,tmpfs) [LinuxOnly] [Conformance] [NodeConformance]',
  '[sig-storage] Projected secret should be consumable from pods in volume [Conformance] [NodeConformance]',
  '[sig-storage] Subpath Atomic writer volumes should support subpaths with configmap pod [Conformance]',
];

export interface SelectionOptions {
  focus?: string;
  skip?: string;
  full?: boolean;
}

export interface Selection {
  focus: string;
  skip: string;
  /** How the run is described in its progress line. */
  label: string;
}

export class SelectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectionError';
  }
}

/** Regex metacharacters escaped, so a test's name matches only itself. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Ginkgo takes Go (RE2) expressions; JavaScript's syntax agrees on what kc users write, so a bad one fails here, before any build. */
function checkedRegex(flag: string, value: string): string {
  if (value.trim() === '') throw new SelectionError(`--${flag} is empty: give a regular expression that test names match, e.g. --${flag} 'DNS'`);
  try {
    new RegExp(value);
  } catch (error) {
    throw new SelectionError(`--${flag} '${value}' is not a valid regular expression (${(error as Error).message}); quote it for your shell, e.g. --${flag} 'Proxy version v1'`);
  }
  return value;
}

/** A long --focus (a list of test names) shortened for one progress line. */
function shortened(text: string, max = 80): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function selectTests(options: SelectionOptions): Selection {
  if (options.full && options.focus !== undefined) {
    throw new SelectionError('--full runs every conformance test: leave out --focus, or leave out --full to run only what --focus names');
  }
  const skip = options.skip === undefined ? ALWAYS_SKIPPED : `${ALWAYS_SKIPPED}|${checkedRegex('skip', options.skip)}`;
  if (options.full) return { focus: CONFORMANCE_FOCUS, skip, label: 'every conformance test that can run in parallel' };
  if (options.focus !== undefined) return { focus: checkedRegex('focus', options.focus), skip, label: `tests matching '${shortened(options.focus)}'` };
  return { focus: CI_SUBSET.map(escapeRegex).join('|'), skip, label: `the CI subset (${CI_SUBSET.length} conformance tests)` };
}
