import { stringify } from 'yaml';
import type { ClusterPlan } from '../model/plan.js';
import { PATHS } from './paths.js';

/** The iptables backend a node uses (kc-entrypoint writes it to /etc/kc-iptables-mode). */
export type IptablesBackend = 'legacy' | 'nft';

export interface WeaveOptions {
  /** Passed to Weave as IPTABLES_BACKEND, so its rules land in the backend the node already uses. */
  iptablesBackend: IptablesBackend;
  images: { kube: string; npc: string };
}

const NAME = 'weave-net';
const NAMESPACE = 'kube-system';
const LABELS = { name: NAME };
/** Weave's HTTP API (status, IPAM), on the node's loopback: the pod uses the host network. */
export const WEAVE_HTTP_PORT = 6784;
/** Where the fork's scripts expect the host's directories (HOST_ROOT). */
const HOST_ROOT = '/host';

/**
 * Weave Net as a DaemonSet, in the shape of the fork's weave-daemonset-k8s
 * manifest: an init container installs the CNI plugin and its conflist into
 * the node's CNI folders, then `weave` (router, IPAM over the whole pod range)
 * and `weave-npc` (NetworkPolicy) run privileged on the host network. The
 * images are loaded into every worker beforehand, so `IfNotPresent` never
 * reaches a registry.
 */
export function weaveManifest(plan: ClusterPlan, options: WeaveOptions): string {
  const metadata = { name: NAME, namespace: NAMESPACE, labels: LABELS };
  const nodeName = { name: 'HOSTNAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } };
  const backend = { name: 'IPTABLES_BACKEND', value: options.iptablesBackend };
  const xtablesLock = { name: 'xtables-lock', mountPath: '/run/xtables.lock', readOnly: false };
  const privileged = { privileged: true };
  const documents: object[] = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: NAME, labels: LABELS },
      rules: [
        { apiGroups: [''], resources: ['pods', 'namespaces', 'nodes'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch', 'update'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: NAME, labels: LABELS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAME },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: NAMESPACE }],
    },
    {
      // The peers record who owns which IP range in the `weave-net` ConfigMap.
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata,
      rules: [
        { apiGroups: [''], resources: ['configmaps'], resourceNames: [NAME], verbs: ['get', 'update'] },
        { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: NAME },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: NAMESPACE }],
    },
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata,
      spec: {
        selector: { matchLabels: LABELS },
        minReadySeconds: 5,
        updateStrategy: { type: 'RollingUpdate' },
        template: {
          metadata: { labels: LABELS },
          spec: {
            serviceAccountName: NAME,
            priorityClassName: 'system-node-critical',
            hostNetwork: true,
            hostPID: false,
            dnsPolicy: 'ClusterFirstWithHostNet',
            restartPolicy: 'Always',
            // The pod network must run on every node, whatever its taints.
            tolerations: [{ operator: 'Exists' }],
            initContainers: [
              {
                name: 'weave-init',
                image: options.images.kube,
                imagePullPolicy: 'IfNotPresent',
                command: ['/home/weave/init.sh'],
                env: [backend],
                securityContext: privileged,
                volumeMounts: [
                  { name: 'cni-bin', mountPath: `${HOST_ROOT}${PATHS.cniBinDir}` },
                  { name: 'cni-conf', mountPath: `${HOST_ROOT}${PATHS.cniConfDir}` },
                  { name: 'lib-modules', mountPath: '/lib/modules', readOnly: true },
                  xtablesLock,
                ],
              },
            ],
            containers: [
              {
                name: 'weave',
                image: options.images.kube,
                imagePullPolicy: 'IfNotPresent',
                command: ['/home/weave/launch.sh'],
                env: [
                  nodeName,
                  { name: 'INIT_CONTAINER', value: 'true' },
                  { name: 'IPALLOC_RANGE', value: plan.spec.podSubnet },
                  backend,
                  // No version check against Weaveworks' (gone) checkpoint service.
                  { name: 'CHECKPOINT_DISABLE', value: '1' },
                ],
                readinessProbe: { httpGet: { host: '127.0.0.1', path: '/status', port: WEAVE_HTTP_PORT } },
                resources: { requests: { cpu: '50m' } },
                securityContext: privileged,
                volumeMounts: [
                  { name: 'weavedb', mountPath: '/weavedb' },
                  { name: 'dbus', mountPath: `${HOST_ROOT}/var/lib/dbus`, readOnly: true },
                  { name: 'machine-id', mountPath: `${HOST_ROOT}/etc/machine-id`, readOnly: true },
                  xtablesLock,
                ],
              },
              {
                name: 'weave-npc',
                image: options.images.npc,
                imagePullPolicy: 'IfNotPresent',
                env: [nodeName, backend],
                resources: { requests: { cpu: '50m' } },
                securityContext: privileged,
                volumeMounts: [xtablesLock],
              },
            ],
            volumes: [
              { name: 'weavedb', hostPath: { path: '/var/lib/weave', type: 'DirectoryOrCreate' } },
              { name: 'cni-bin', hostPath: { path: PATHS.cniBinDir, type: 'DirectoryOrCreate' } },
              { name: 'cni-conf', hostPath: { path: PATHS.cniConfDir, type: 'DirectoryOrCreate' } },
              { name: 'machine-id', hostPath: { path: '/etc/machine-id', type: 'File' } },
              { name: 'dbus', hostPath: { path: '/var/lib/dbus', type: 'DirectoryOrCreate' } },
              { name: 'lib-modules', hostPath: { path: '/lib/modules' } },
              { name: 'xtables-lock', hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' } },
            ],
          },
        },
      },
    },
  ];
  // Shared objects (labels, env entries, mounts) are written out in full, not as YAML anchors.
  return documents.map((doc) => stringify(doc, { aliasDuplicateObjects: false })).join('---\n');
}

/** The backend a node recorded in /etc/kc-iptables-mode. */
export function parseIptablesBackend(text: string): IptablesBackend {
  const mode = text.trim();
  if (mode === 'legacy' || mode === 'nft') return mode;
  throw new Error(`/etc/kc-iptables-mode says "${mode}", expected legacy or nft: is the node image older than this kc?`);
}

/**
 * Why Weave Net cannot be installed, or undefined when every image is present.
 * `present` maps each image to whether the host's Docker has it (or could pull it).
 */
export function weaveImagesProblem(present: Record<string, boolean>): string | undefined {
  const images = Object.keys(present);
  const missing = images.filter((image) => !present[image]);
  if (missing.length === 0) return undefined;
  const list = (names: string[]) => names.join(' and ');
  const what =
    missing.length === images.length
      ? `${list(images)}, which ${missing.length === 1 ? 'is' : 'are'} not in the local Docker`
      : `${list(images)}; ${list(missing)} ${missing.length === 1 ? 'is' : 'are'} not in the local Docker`;
  return (
    `--cni weave needs the images ${what} and could not be pulled: no registry answered ` +
    `(or it does not have ${missing.length === 1 ? 'it' : 'them'}). ` +
    'kc has no source build for Weave Net to fall back on: the Go module proxy its offline builds use does not serve github.com/rajch/weave.\n' +
    'Fix it with one of:\n' +
    '  - use the built-in pod network instead: --cni bridge\n' +
    `  - on a machine that reaches Docker Hub: docker pull ${images.join(' && docker pull ')} && docker save -o weave.tar ${images.join(' ')}\n` +
    '    then here: docker load -i weave.tar, and run the same command again'
  );
}

/**
 * Which datapath Weave's established peer connections use, from `weave status
 * connections` (lines like `-> 172.30.0.101:6783  established fastdp 9a:..(kc-worker-1) mtu=1376`):
 * fastdp is the kernel (Open vSwitch) datapath, sleeve the slower user-space fallback.
 */
export function weaveDatapath(connections: string): { established: number; summary: string } {
  const lines = connections.split('\n').filter((line) => /\sestablished\s/.test(line));
  const fastdp = lines.filter((line) => /\sfastdp\s/.test(line)).length;
  const sleeve = lines.filter((line) => /\ssleeve\s/.test(line)).length;
  const established = lines.length;
  const count = (n: number) => `${n} connection${n === 1 ? '' : 's'}`;
  let summary: string;
  if (established === 0) summary = 'no established peer connections';
  else if (fastdp === established) summary = `fastdp (${count(fastdp)})`;
  else if (sleeve === established) summary = `sleeve (${count(sleeve)}; fastdp unavailable, user-space datapath)`;
  else summary = `mixed: fastdp ${fastdp}, sleeve ${sleeve} of ${count(established)}`;
  return { established, summary };
}

/** Interface the kernel probe creates in its own throw-away network namespace. */
const PROBE_INTERFACE = 'kcprobe0';

/**
 * What Weave's router does first (`weave` creates a dummy interface for its
 * bridge), as a command for a short-lived container of the node image: the
 * node containers share that kernel, so this answers for them.
 */
export const WEAVE_KERNEL_PROBE = ['ip', 'link', 'add', PROBE_INTERFACE, 'type', 'dummy'];

/**
 * Why this kernel cannot run Weave Net, from the probe's result; undefined when
 * it can. `output` is what `ip` printed (e.g. "Error: Unknown device type.").
 */
export function weaveKernelProblem(exitCode: number, output: string): string | undefined {
  if (exitCode === 0) return undefined;
  const said = output.trim().split('\n').pop() ?? '';
  return (
    `--cni weave cannot work on this Docker engine's kernel: it cannot create a dummy network interface ` +
    `(\`${WEAVE_KERNEL_PROBE.join(' ')}\` in a privileged container of the node image: ${said || `exit code ${exitCode}`}). ` +
    "Weave Net's router needs one for its bridge; the kernel lacks dummy interface support (CONFIG_DUMMY).\n" +
    'Fix it with one of:\n' +
    "  - use kc's default pod network, whose NetworkPolicies kube-router enforces: --cni bridge (or leave --cni out)\n" +
    '  - run Docker on a kernel built with CONFIG_DUMMY (=y, or =m with the dummy module loaded)'
  );
}
