import { Readable } from 'node:stream';
import { REGISTRY_IMAGE } from '../../src/artifacts/manifest.js';
import type { ApiProbe } from '../../src/cluster/kube/api.js';
import { createCluster, type CreateOptions } from '../../src/cluster/create/create.js';
import { ETCD_PEER_PORT } from '../../src/components/etcd.js';
import { haproxyServersStateCommand, READY_BACKEND } from '../../src/components/haproxy.js';
import { PATHS } from '../../src/components/paths.js';
import type { ClusterSpec } from '../../src/config/types.js';
import { nodeName, type ClusterPlan } from '../../src/model/plan.js';
import { trustedCaPem } from '../../src/pki/ca-rotation.js';
import { generateClusterPki } from '../../src/pki/cluster-pki.js';
import { FakeEngine, type FakeNode } from '../../src/provider/fake/engine.js';
import type { ExecResult, Images, Provider } from '../../src/provider/provider.js';
import { silentProgress } from '../../src/util/progress.js';

/** A command that succeeded with this output. */
export const ok = (stdout = ''): ExecResult => ({ exitCode: 0, stdout, stderr: '' });

/** A command that failed with this message. */
export const failed = (stderr: string): ExecResult => ({ exitCode: 1, stdout: '', stderr });

/**
 * What runs inside the nodes of a fake cluster, answered as a healthy
 * cluster would: systemd up, units active, each API server ready. Any other
 * command succeeds with no output. (What the API server knows, kc asks from
 * the host: see healthyApi.)
 */
export function healthyCluster() {
  return (_node: FakeNode, command: string[]): ExecResult => {
    const line = command.join(' ');
    if (line === 'systemctl is-system-running') return ok('running\n');
    if (line.startsWith('systemctl is-active')) return ok('active\n');
    // A master's own API server, asked by kubectl there when it joins (the lb does not route to it yet).
    if (line.endsWith('get --raw /readyz')) return ok('ok');
    // No PersistentVolumes: a removed worker holds no data.
    if (line.endsWith('get pv -o json')) return ok('{"items":[]}');
    return ok();
  };
}

/** The workers of `spec`, by name. */
export const workersOf = (spec: ClusterSpec) => (): string[] => Array.from({ length: spec.workers }, (_, index) => nodeName(spec.name, 'worker', index));

/** The workers of cluster `name` that run on `engines` now (kc create node adds some). */
export const runningWorkers = (name: string, ...engines: FakeEngine[]) => (): string[] =>
  engines.flatMap((engine) => [...engine.nodes.values()]).filter((n) => n.labels['dev.kc.role'] === 'worker' && n.labels['dev.kc.cluster'] === name).map((n) => n.spec.name);

/**
 * The API server of a healthy fake cluster as kc reads it from the host:
 * ready, every worker registered (no podCIDR yet) and Ready, a CoreDNS pod
 * Ready, every add-on's Deployment available, kube-root-ca.crt up to date; heartbeats and Ready
 * transitions at `at()` (now, unless a test says otherwise).
 */
export function healthyApi(spec: ClusterSpec, workers: () => string[] = workersOf(spec), at: () => string = () => new Date().toISOString()): ApiProbe {
  const ready = () => ({ type: 'Ready', status: 'True', lastHeartbeatTime: at(), lastTransitionTime: at() });
  return async (_server, pki, path) => {
    if (path === '/api/v1/nodes') return { status: 200, body: JSON.stringify({ items: workers().map((name) => ({ metadata: { name }, spec: {}, status: { conditions: [ready()] } })) }) };
    // Every pod asked for (CoreDNS's, each add-on's) runs on the first worker and is Ready there, as its kubelet says too.
    const pods = () => JSON.stringify({ items: [{ metadata: { name: 'pod-0', uid: 'uid-0' }, spec: { nodeName: workers()[0] }, status: { conditions: [ready()] } }] });
    if (path.includes('/pods?labelSelector=') || path.endsWith('/proxy/pods')) return { status: 200, body: pods() };
    if (path.startsWith('/apis/apps/v1/namespaces/')) return { status: 200, body: JSON.stringify({ spec: { selector: { matchLabels: { app: 'addon' } } }, status: { availableReplicas: 1 } }) };
    // The controller-manager publishes the CAs the masters trust, which are those kc trusts.
    if (path.endsWith('/configmaps/kube-root-ca.crt')) return { status: 200, body: JSON.stringify({ data: { 'ca.crt': trustedCaPem(pki) } }) };
    return { status: 200, body: 'ok' };
  };
}

/** The real create pipeline on a fake engine and a healthy fake API server; the PKI is made as for real. */
export function createFakeCluster(
  engine: Provider,
  spec: ClusterSpec,
  kubeconfigPath: string,
  options: Partial<Pick<CreateOptions, 'afterStep' | 'buildNodeImage' | 'apiProbe' | 'span' | 'ensureRegistryImage' | 'portIsFree' | 'registries' | 'signal' | 'generatePki' | 'progress'>> = {},
) {
  // The registry lives on the engine kc runs on: the fake engine itself, or a multi-engine test's local one.
  const registries = options.registries ?? (engine instanceof FakeEngine ? engine : undefined);
  if (!registries) throw new Error('a test across engines names the local engine: registries');
  return createCluster({
    engine,
    registries,
    progress: silentProgress,
    spec,
    kubeconfigPath,
    apiProbe: healthyApi(spec),
    generatePki: (plan: ClusterPlan) => generateClusterPki(plan),
    ensureRegistryImage: fakeRegistryImage,
    // The host's own ports are not the fake engine's: the registry's is free unless a test says otherwise.
    portIsFree: async () => true,
    ...options,
  });
}

/** The registry's image, "built" on the fake engine as the real step would (no artifact, no Docker). */
export async function fakeRegistryImage(engine: Images): Promise<string> {
  if (!(await engine.imageLabels(REGISTRY_IMAGE))) await engine.buildImage(Readable.from([]), { tag: REGISTRY_IMAGE });
  return REGISTRY_IMAGE;
}

/** An etcd member of a fake cluster; IDs beyond 2^53, as etcd's are. */
interface FakeMember {
  id: bigint;
  /** Empty until the member has started (etcd learns it then). */
  name: string;
  peerUrl: string;
  isLearner: boolean;
}

/**
 * A fake cluster's etcd membership and HAProxy's live backends, as node
 * changes read and change them: etcdctl's `member list -w json`, `member add
 * --learner`, `member promote` and `member remove` answered as etcd does
 * (starting with `founders` as voting members), and HAProxy's `show servers
 * state` listing the servers of the lb's current haproxy.cfg, each up.
 */
export class FakeControlPlane {
  private readonly members: FakeMember[];
  private nextId = 10_276_657_743_932_975_437n;

  constructor(founders: readonly string[]) {
    this.members = founders.map((name) => ({ id: this.nextId++, name, peerUrl: `https://${name}:${ETCD_PEER_PORT}`, isLearner: false }));
  }

  /** The members by the host of their peer URL, learners marked. */
  get membership(): string[] {
    return this.members.map((m) => `${new URL(m.peerUrl).hostname}${m.isLearner ? ' (learner)' : ''}`);
  }

  /** The answer to an etcdctl membership command or HAProxy's server list; undefined for any other command. */
  answer(node: FakeNode, command: string[]): ExecResult | undefined {
    if (command.join(' ') === haproxyServersStateCommand().join(' ')) return ok(haproxyServersState(node));
    if (command[0] !== 'etcdctl') return undefined;
    const [noun, verb, ...rest] = command.slice(1).filter((arg) => !/^--(endpoints|cacert|cert|key)=/.test(arg));
    if (noun !== 'member') return undefined;
    if (verb === 'list') return ok(this.memberListJson());
    if (verb === 'add') return this.add(rest);
    const member = this.members.find((m) => m.id.toString(16) === rest[0]);
    if (!member) return failed('Error: etcdserver: member not found');
    if (verb === 'promote') return this.promote(member);
    if (verb === 'remove') {
      this.members.splice(this.members.indexOf(member), 1);
      return ok(`Member ${rest[0] ?? ''} removed from cluster\n`);
    }
    return undefined;
  }

  private memberListJson(): string {
    const members = this.members.map((m) => `{"ID":${m.id},"name":"${m.name}","peerURLs":["${m.peerUrl}"]${m.isLearner ? ',"isLearner":true' : ''}}`);
    return `{"header":{"cluster_id":14841639068965178418},"members":[${members.join(',')}]}`;
  }

  private add(args: string[]): ExecResult {
    const peerUrl = args.find((a) => a.startsWith('--peer-urls='))?.slice('--peer-urls='.length) ?? '';
    const id = this.nextId++;
    this.members.push({ id, name: '', peerUrl, isLearner: args.includes('--learner') });
    return ok(`Member ${id.toString(16)} added to cluster\n`);
  }

  private promote(member: FakeMember): ExecResult {
    if (!member.isLearner) return failed('Error: etcdserver: can only promote a learner member');
    member.isLearner = false;
    member.name = new URL(member.peerUrl).hostname;
    return ok(`Member ${member.id.toString(16)} promoted in cluster\n`);
  }
}

/** `show servers state masters` on the lb: a version line, the header, then each server of its haproxy.cfg, up (state 2). */
function haproxyServersState(lb: FakeNode): string {
  const servers = readyBackendServers(String(lb.files.get(PATHS.haproxyConfig)?.content ?? ''));
  return [
    '1',
    '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state',
    ...servers.map(([name, address], index) => `3 masters ${index + 1} ${name} ${address} 2 0`),
  ].join('\n');
}

/** The servers (name, address) of the backend of ready masters in a haproxy.cfg: its section, up to the next blank line. */
export function readyBackendServers(config: string): Array<[string, string]> {
  const section = config.split(`backend ${READY_BACKEND}\n`)[1]?.split('\n\n')[0] ?? '';
  return [...section.matchAll(/^\s*server (\S+) ([\d.]+):\d+/gm)].map(([, name = '', address = '']) => [name, address]);
}

/** A test's own answer to a command run in a node, before the fake cluster's (undefined: the cluster answers). */
export type ScriptedAnswer = (node: string, line: string) => ExecResult | undefined;

/** A running fake cluster whose node commands are recorded as `node: command`, and answered by the test's script first. */
export interface RecordedCluster {
  engine: FakeEngine;
  /** Its etcd membership and HAProxy's backends. */
  controlPlane: FakeControlPlane;
  /** Every command since the cluster was made (cleared then), in order. */
  commands: string[];
  script: (answer: ScriptedAnswer) => void;
}

/**
 * Creates `spec` on `engine` (its images already there) with etcd membership
 * and HAProxy's list answered as a real control plane does, then clears what
 * the create recorded: what a lifecycle test looks at is its own command.
 */
export async function recordedCluster(engine: FakeEngine, spec: ClusterSpec, kubeconfigPath: string): Promise<RecordedCluster> {
  const healthy = healthyCluster();
  const controlPlane = new FakeControlPlane(Array.from({ length: spec.controlPlanes }, (_, index) => nodeName(spec.name, 'master', index)));
  const recorded: RecordedCluster = { engine, controlPlane, commands: [], script: (answer) => (scripted = answer) };
  let scripted: ScriptedAnswer = () => undefined;
  engine.onExec = (node, command) => {
    recorded.commands.push(`${node.spec.name}: ${command.join(' ')}`);
    return scripted(node.spec.name, command.join(' ')) ?? controlPlane.answer(node, command) ?? healthy(node, command);
  };
  await createFakeCluster(engine, spec, kubeconfigPath);
  recorded.commands.length = 0;
  engine.calls.length = 0;
  return recorded;
}
