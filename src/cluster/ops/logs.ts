import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CONTAINERD_SOCKET } from '../../components/containerd.js';
import { KC_UNITS as ALL_KC_UNITS } from '../../components/units.js';
import type { NodeRole } from '../../config/types.js';
import { LABEL_ROLE, type NodeExec, type NodeSummary, type Provider } from '../../provider/provider.js';
import { extractTar } from '../../util/tar-gz.js';
import { kubectl } from '../kube/kubectl.js';
import type { ClusterState } from '../../state/cluster-state.js';
import { concurrently } from '../../util/concurrent.js';

/**
 * `kc export logs`: everything needed to debug a cluster after the fact, in
 * one folder per node. Collection is best effort: a command that fails on a
 * node is noted in that node's errors.txt, and the rest is still collected.
 */

/** The systemd units kc runs (without `.service`), in the order a node starts them: the components' own list. */
export const KC_UNITS: readonly string[] = ALL_KC_UNITS.map((unit) => unit.replace(/\.service$/, ''));

/** Patterns for `systemctl list-units` / `list-unit-files` that cover every unit in KC_UNITS. */
export const UNIT_PATTERNS = ['etcd*', 'kube*', 'containerd*', 'haproxy*', 'kc-*'];

const LOAD_STATES_PRESENT = new Set(['loaded']);
const FILE_STATES_ABSENT = new Set(['disabled', 'masked', 'masked-runtime', 'bad', 'not-found']);

interface ListedUnit {
  name: string;
  /** LOAD column of `list-units`, or STATE column of `list-unit-files`. */
  state: string;
}

/** Rows of `systemctl list-units|list-unit-files --no-legend [--plain]`: the first two columns. */
export function parseUnitList(output: string): ListedUnit[] {
  return output
    .split('\n')
    .map((line) => line.trim().replace(/^[●*]\s*/, ''))
    .filter(Boolean)
    .map((line) => {
      const [name = '', state = ''] = line.split(/\s+/);
      return { name, state };
    })
    .filter((u) => u.name.includes('.'));
}

/**
 * Which of kc's units a node has, given `systemctl list-units --all` and
 * `systemctl list-unit-files` output: loaded units, plus unit files that are
 * not disabled or masked (the node image ships HAProxy disabled on every node
 * but the lb, so it is collected only there). In KC_UNITS order.
 */
export function unitsToCollect(listUnitsOutput: string, listUnitFilesOutput = ''): string[] {
  const present = new Set<string>();
  for (const u of parseUnitList(listUnitsOutput)) if (LOAD_STATES_PRESENT.has(u.state)) present.add(u.name);
  for (const u of parseUnitList(listUnitFilesOutput)) if (!FILE_STATES_ABSENT.has(u.state)) present.add(u.name);
  return KC_UNITS.filter((unit) => present.has(`${unit}.service`));
}

/** One file of a node's folder and the command (run inside the node) whose output it holds. */
export interface NodeCommand {
  file: string;
  command: string[];
}

const CRICTL = ['crictl', '--runtime-endpoint', `unix://${CONTAINERD_SOCKET}`, '--image-endpoint', `unix://${CONTAINERD_SOCKET}`];

/** Binaries whose version a node's versions.txt lists, when the node has them. */
export const VERSION_COMMANDS: string[][] = [
  ['kubelet', '--version'],
  ['kube-apiserver', '--version'],
  ['kube-controller-manager', '--version'],
  ['kube-scheduler', '--version'],
  ['kube-proxy', '--version'],
  ['kube-router', '--version'],
  ['kubectl', 'version', '--client'],
  ['etcd', '--version'],
  ['containerd', '--version'],
  ['runc', '--version'],
  ['crictl', '--version'],
  ['haproxy', '-v'],
];

/**
 * One shell script that prints the version of every binary in
 * VERSION_COMMANDS the node has, each under a `$ command` line; missing ones
 * are skipped (so the lb, which has no Kubernetes binaries in use, still works).
 */
export function versionScript(commands: string[][] = VERSION_COMMANDS): string {
  return commands
    .map((command) => {
      const line = command.join(' ');
      return `if command -v ${command[0]} >/dev/null 2>&1; then echo '$ ${line}'; ${line} 2>&1; echo; fi`;
    })
    .join('\n');
}

/** Where kubelet keeps every container's log: `<namespace>_<pod>_<uid>/<container>/<restart count>.log`, the previous run's too. */
export const POD_LOGS_DIR = '/var/log/pods';

/**
 * What kc asks the API about the whole cluster, written to `cluster/`: what
 * explains a failed app in CI (its events, its pods, the nodes' conditions
 * and the add-ons' state), read by kubectl on a master.
 */
export const CLUSTER_COMMANDS: readonly NodeCommand[] = [
  { file: 'events.txt', command: ['get', 'events', '--all-namespaces', '--sort-by=.lastTimestamp', '-o', 'wide'] },
  { file: 'pods.txt', command: ['get', 'pods', '--all-namespaces', '-o', 'wide'] },
  { file: 'nodes.txt', command: ['describe', 'nodes'] },
  { file: 'addons.txt', command: ['get', 'deployments,daemonsets,services,apiservices,storageclasses', '--all-namespaces', '-o', 'wide'] },
  { file: 'describe-pods.txt', command: ['describe', 'pods', '--all-namespaces'] },
];

/** What to collect on a node with these units. Workers also get the CRI's view of pods, containers and images. */
export function nodeCommands(role: NodeRole | undefined, units: string[]): NodeCommand[] {
  const commands: NodeCommand[] = [
    { file: 'journal.log', command: ['journalctl', '--no-pager', '-o', 'short-precise', '-b'] },
    ...units.map((unit) => ({
      file: `${unit}.log`,
      command: ['journalctl', '--no-pager', '-o', 'short-precise', '-u', `${unit}.service`],
    })),
    { file: 'systemd-units.txt', command: ['systemctl', 'list-units', '--all', '--no-pager'] },
    { file: 'versions.txt', command: ['sh', '-c', versionScript()] },
    { file: 'ip-addr.txt', command: ['ip', 'addr'] },
    { file: 'ip-route.txt', command: ['ip', 'route'] },
  ];
  if (role === 'worker') {
    commands.push(
      { file: 'crictl-ps.txt', command: [...CRICTL, 'ps', '-a'] },
      { file: 'crictl-pods.txt', command: [...CRICTL, 'pods'] },
      { file: 'crictl-images.txt', command: [...CRICTL, 'images'] },
    );
  }
  return commands;
}

/**
 * The part of a cluster's stored state that is safe to hand around: its spec
 * and plan (names, addresses, ranges, options), never its PKI. Built from an
 * allow-list, so a secret added to the state later is not exported by accident.
 */
export function exportableState(state: ClusterState): Record<string, unknown> {
  return {
    plan: state.plan,
    apiServerHostPort: state.apiServerHostPort,
    kubeconfigPaths: state.kubeconfigPaths,
    createdAt: state.createdAt,
  };
}

/** Fields of `docker info` worth having in a bug report (the whole of it can name proxies, registries, labels). */
const ENGINE_INFO_FIELDS = [
  'ServerVersion',
  'OperatingSystem',
  'OSType',
  'Architecture',
  'KernelVersion',
  'NCPU',
  'MemTotal',
  'Driver',
  'CgroupDriver',
  'CgroupVersion',
  'DefaultRuntime',
  'Runtimes',
  'SecurityOptions',
  'Containers',
  'ContainersRunning',
  'Warnings',
];

export function engineInfoSummary(info: Record<string, unknown>): Record<string, unknown> {
  const summary: Record<string, unknown> = {};
  for (const key of ENGINE_INFO_FIELDS) if (key in info) summary[key] = info[key];
  return summary;
}

/** `./kc-logs-<name>-<UTC time>`, e.g. `kc-logs-kc-20250102T030405Z`. */
export function defaultLogsDir(cluster: string, now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
  return `kc-logs-${cluster}-${stamp}`;
}

function nodeRole(container: NodeSummary): NodeRole | undefined {
  const role = container.labels[LABEL_ROLE];
  return role === 'lb' || role === 'master' || role === 'worker' ? role : undefined;
}

export interface NodeLogsResult {
  node: string;
  files: number;
  /** Commands that failed: noted in the node's errors.txt. */
  errors: number;
}

/** Collects one node's logs into `dir` (created). Never throws for what fails inside the node. */
export async function collectNodeLogs(engine: Provider, container: NodeSummary, dir: string): Promise<NodeLogsResult> {
  await mkdir(dir, { recursive: true });
  const errors: string[] = [];
  let files = 0;
  const write = async (file: string, content: string): Promise<void> => {
    await writeFile(join(dir, file), content);
    files += 1;
  };
  const attempt = async (what: string, work: () => Promise<void>): Promise<void> => {
    try {
      await work();
    } catch (error) {
      errors.push(`${what}: ${(error as Error).message}`);
    }
  };

  await attempt('docker inspect', async () => {
    const info = await engine.inspectNode(container);
    await write('inspect.json', `${JSON.stringify(info ?? null, null, 2)}\n`);
  });
  await attempt('docker logs', async () => write('console.log', await engine.nodeLogs(container)));

  if (container.state !== 'running') {
    errors.push(`the container is ${container.state}, not running: only inspect.json and console.log were collected`);
  } else {
    let units: string[] = [];
    await attempt('list units', async () => {
      const loaded = await engine.exec(container, ['systemctl', 'list-units', '--all', '--no-legend', '--plain', '--full', ...UNIT_PATTERNS]);
      const unitFiles = await engine.exec(container, ['systemctl', 'list-unit-files', '--no-legend', '--full', ...UNIT_PATTERNS]);
      units = unitsToCollect(loaded.stdout, unitFiles.stdout);
    });
    if (nodeRole(container) === 'worker') {
      // Every container's log, the current run's and the previous one's: what explains a crash.
      await attempt(`the pod logs in ${POD_LOGS_DIR}`, async () => {
        files += await extractTar(await engine.readFolder(container, POD_LOGS_DIR), dir);
      });
    }
    for (const { file, command } of nodeCommands(nodeRole(container), units)) {
      await attempt(`\`${command.join(' ')}\``, async () => {
        const result = await engine.exec(container, command);
        // 126/127: the program is missing or cannot run; its "output" is the runtime's complaint.
        const ran = result.exitCode !== 126 && result.exitCode !== 127;
        if (ran) await write(file, result.stdout);
        if (result.exitCode !== 0) {
          const output = `${ran ? '' : result.stdout}${result.stderr}`.trimEnd();
          errors.push(`\`${command.join(' ')}\` exited with ${result.exitCode}${ran ? '' : ` (no ${file})`}${output ? `:\n${output}` : ''}`);
        }
      });
    }
  }
  if (errors.length > 0) await writeFile(join(dir, 'errors.txt'), `${errors.join('\n\n')}\n`);
  return { node: container.name, files, errors: errors.length };
}

export interface ExportLogsOptions {
  engine: Provider;
  /** The cluster's node containers (any state). */
  nodes: NodeSummary[];
  /** The cluster's stored state, when kc still has it. */
  state: ClusterState | undefined;
  /** Folder to write (created; must not exist or be empty). */
  dir: string;
}

/**
 * The API's view (CLUSTER_COMMANDS) through the first running master whose
 * API server answers. Returns what could not be collected.
 */
async function collectClusterState(engine: NodeExec, state: ClusterState, nodes: NodeSummary[], dir: string): Promise<string[]> {
  const running = new Set(nodes.filter((n) => n.state === 'running').map((n) => n.name));
  const masters = state.plan.masters.filter((m) => running.has(m.name));
  const problems: string[] = [];
  for (const master of masters) {
    try {
      await kubectl(engine, state.plan, ['get', '--raw', '/readyz'], undefined, master);
    } catch {
      continue;
    }
    for (const { file, command } of CLUSTER_COMMANDS) {
      try {
        await writeFile(join(dir, file), await kubectl(engine, state.plan, command, undefined, master));
      } catch (error) {
        problems.push(`kubectl ${command.join(' ')}: ${(error as Error).message}`);
      }
    }
    return problems;
  }
  return [`no master's API server answered${masters.length === 0 ? ' (none is running)' : ''}: the cluster's events, pods and nodes (cluster/*.txt) are missing`];
}

/** Writes the whole export: `docker-version.json`, `docker-info.json`, `cluster/`, and one folder per node, collected in parallel. */
export async function exportLogs(options: ExportLogsOptions): Promise<NodeLogsResult[]> {
  const { engine, nodes, state, dir } = options;
  await mkdir(dir, { recursive: true });
  const general: string[] = [];
  try {
    await writeFile(join(dir, 'docker-version.json'), `${JSON.stringify(await engine.engineVersion(), null, 2)}\n`);
    await writeFile(join(dir, 'docker-info.json'), `${JSON.stringify(engineInfoSummary(await engine.engineInfo()), null, 2)}\n`);
  } catch (error) {
    general.push(`docker version/info: ${(error as Error).message}`);
  }
  if (state) {
    await mkdir(join(dir, 'cluster'), { recursive: true });
    await writeFile(join(dir, 'cluster', 'cluster.json'), `${JSON.stringify(exportableState(state), null, 2)}\n`);
    general.push(...(await collectClusterState(engine, state, nodes, join(dir, 'cluster'))));
  } else {
    general.push("kc has no stored state for this cluster: cluster/ (its spec and plan) is missing");
  }
  if (nodes.length === 0) general.push('the cluster has no node containers');
  if (general.length > 0) await writeFile(join(dir, 'errors.txt'), `${general.join('\n')}\n`);
  return concurrently(nodes, (node) => collectNodeLogs(engine, node, join(dir, node.name)));
}
