import { Readable } from 'node:stream';
import { packInMemory } from '../../util/tar-gz.js';
import { cidrsOverlap, parseCidr } from '../../util/ipv4.js';
import {
  LABEL_CLUSTER,
  LABEL_REGISTRY,
  LABEL_ROLE,
  LABEL_SPANS_ENGINES,
  SubnetTakenError,
  type ArchiveEntry,
  type ArchiveFile,
  isArchiveLink,
  type EngineNodes,
  type ExecResult,
  type NetworkSpec,
  type NetworkSummary,
  type NodeSpec,
  type NodeSummary,
  nameOf,
  type OnOneEngine,
  type ResourceRef,
  type PublishedPort,
  type RegistrySpec,
  type RegistryState,
  type RegistrySummary,
  type RegistryData,
  type SingleEngine,
  type SwarmJoin,
  type SwarmNode,
  type SwarmState,
} from '../provider.js';

/**
 * An in-memory engine with the provider's interface: networks, nodes,
 * volumes, files and images kept in maps, so that create, rollback, --retain
 * and delete run in unit tests. What runs inside a node is not simulated:
 * `onExec` answers commands (a healthy node by default answers every command
 * with exit code 0 and no output).
 */

export interface FakeNode {
  spec: NodeSpec;
  id: string;
  state: 'running' | 'exited';
  labels: Record<string, string>;
  files: Map<string, ArchiveFile>;
  /** Symbolic links placed in the node: path → target. */
  links: Map<string, string>;
}

export type ExecHandler = (node: FakeNode, command: string[], input: string | undefined) => ExecResult | Promise<ExecResult>;

/** Calls of one method, optionally only some of them (by their first argument). */
export interface CallMatcher {
  method: keyof SingleEngine;
  when?: (firstArgument: string | undefined) => boolean;
}

/** A call the test wants to fail. */
export interface InjectedFailure extends CallMatcher {
  error: Error;
}

/** A call the test wants to take effect late (as an engine's slow request does): it waits for `until`, started when the call is made. */
export interface InjectedDelay extends CallMatcher {
  until: () => Promise<void>;
}

function matches(labels: Record<string, string>, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([key, value]) => key in labels && (value === '' || labels[key] === value));
}

export class FakeEngine implements SingleEngine {
  readonly networks = new Map<string, NetworkSummary & { subnet: string }>();
  readonly nodes = new Map<string, FakeNode>();
  readonly volumes = new Map<string, Record<string, string>>();
  readonly images = new Map<string, Record<string, string>>();
  /** Registry containers by name: their spec, whether they run, and the networks they are on (name → address). */
  readonly registries = new Map<string, { spec: RegistrySpec; running: boolean; networks: Map<string, string> }>();
  /** Every call, as `method firstArgument`, in order. */
  readonly calls: string[] = [];
  onExec: ExecHandler = () => ({ exitCode: 0, stdout: '', stderr: '' });
  /**
   * Sees every call before it takes effect, as `method firstArgument`, and an
   * exec with its command line: a test that throws here fails that call (the
   * fault-injection suite fails each call of a command in turn).
   */
  intercept: ((call: string) => void) | undefined;
  private failures: InjectedFailure[] = [];
  private delays: InjectedDelay[] = [];
  private nextId = 1;

  /** What a registry would serve: image name → its labels. */
  readonly pullable: Map<string, Record<string, string>>;

  /** `images` are present; `pullable` ones a registry would serve. */
  constructor(options: { images?: string[]; pullable?: string[] } = {}) {
    for (const image of options.images ?? []) this.images.set(image, {});
    this.pullable = new Map((options.pullable ?? []).map((tag) => [tag, {}]));
  }

  /** Makes calls fail from now on, until cleared. */
  failOn(failure: InjectedFailure): void {
    this.failures.push(failure);
  }

  /** Makes calls wait before they take effect (or fail), from now on. */
  delayOn(delay: InjectedDelay): void {
    this.delays.push(delay);
  }

  clearFailures(): void {
    this.failures = [];
  }

  /** Nothing left: no network, node or volume. */
  isEmpty(): boolean {
    // A registry's data volume outlives its clusters by design (kc delete registry removes it): not a leftover.
    const volumes = [...this.volumes.values()].filter((labels) => labels[LABEL_REGISTRY] === undefined);
    return this.networks.size === 0 && this.nodes.size === 0 && volumes.length === 0 && this.registries.size === 0;
  }

  private async record(method: keyof SingleEngine, first?: string, detail?: string): Promise<void> {
    this.calls.push(first === undefined ? method : `${method} ${first}`);
    this.intercept?.([method, first, detail].filter((part) => part !== undefined).join(' '));
    const applies = (call: CallMatcher) => call.method === method && (!call.when || call.when(first));
    const delay = this.delays.find(applies);
    if (delay) await delay.until();
    const failure = this.failures.find(applies);
    if (failure) throw failure.error;
  }

  private node(name: string): FakeNode {
    const node = this.nodes.get(name) ?? [...this.nodes.values()].find((n) => n.id === name);
    if (!node) throw new Error(`No such container: ${name}`);
    return node;
  }

  async ensureReachable(): Promise<string> {
    await this.record('ensureReachable');
    return 'fake';
  }

  async engineVersion(): Promise<object> {
    await this.record('engineVersion');
    return { Version: 'fake' };
  }

  async engineInfo(): Promise<Record<string, unknown>> {
    await this.record('engineInfo');
    return { ServerVersion: 'fake', CgroupVersion: '2' };
  }

  async createNetwork(spec: NetworkSpec): Promise<void> {
    await this.record('createNetwork', spec.name);
    if (this.networks.has(spec.name)) throw new Error(`network with name ${spec.name} already exists`);
    const wanted = parseCidr(spec.subnet);
    if ([...this.networks.values()].some((n) => cidrsOverlap(parseCidr(n.subnet), wanted))) throw new SubnetTakenError(spec.subnet);
    if (spec.spansEngines && !this.swarm.manager) throw new Error('an overlay network needs a swarm manager');
    const labels = { [LABEL_CLUSTER]: spec.cluster, ...(spec.spansEngines ? { [LABEL_SPANS_ENGINES]: 'true' } : {}) };
    this.networks.set(spec.name, { id: `net-${this.nextId++}`, name: spec.name, subnet: spec.subnet, labels });
  }

  async usedSubnets(): Promise<string[]> {
    await this.record('usedSubnets');
    return [...this.networks.values()].map((n) => n.subnet);
  }

  async listNetworks(labels: Record<string, string>): Promise<NetworkSummary[]> {
    await this.record('listNetworks');
    return [...this.networks.values()].filter((n) => matches(n.labels, labels)).map(({ id, name, labels: l }) => ({ id, name, labels: l }));
  }

  async removeNetwork(ref: OnOneEngine): Promise<void> {
    const idOrName = nameOf(ref);
    await this.record('removeNetwork', idOrName);
    // As Docker: a network with a container still on it cannot go.
    const attached = [...this.registries].find(([, r]) => r.networks.has(idOrName));
    if (attached) throw new Error(`error while removing network: network ${idOrName} has active endpoints (${attached[0]})`);
    for (const [name, network] of this.networks) if (name === idOrName || network.id === idOrName) this.networks.delete(name);
  }

  async registryState(name: string): Promise<RegistryState | undefined> {
    await this.record('registryState', name);
    const registry = this.registries.get(name);
    return registry ? { running: registry.running, networks: [...registry.networks.keys()] } : undefined;
  }

  async listRegistries(): Promise<RegistrySummary[]> {
    await this.record('listRegistries');
    return [...this.registries]
      .filter(([, r]) => LABEL_REGISTRY in r.spec.labels)
      .map(([name, r]) => ({ name, port: Number(r.spec.labels[LABEL_REGISTRY]), running: r.running, networks: [...r.networks.keys()] }));
  }

  async createRegistry(spec: RegistrySpec): Promise<void> {
    await this.record('createRegistry', spec.name);
    if (this.registries.has(spec.name)) throw new Error(`Conflict. The container name "/${spec.name}" is already in use`);
    if (!this.images.has(spec.image)) throw new Error(`No such image: ${spec.image}`);
    this.volumes.set(`${spec.name}-data`, spec.labels);
    this.registries.set(spec.name, { spec, running: true, networks: new Map() });
  }

  async startRegistry(name: string): Promise<void> {
    await this.record('startRegistry', name);
    const registry = this.registries.get(name);
    if (!registry) throw new Error(`No such container: ${name}`);
    registry.running = true;
  }

  async attachRegistry(name: string, network: string, ip: string): Promise<void> {
    await this.record('attachRegistry', name);
    const registry = this.registries.get(name);
    if (!registry) throw new Error(`No such container: ${name}`);
    if (!this.networks.has(network)) throw new Error(`network ${network} not found`);
    registry.networks.set(network, ip);
  }

  async detachRegistry(name: string, network: string): Promise<void> {
    await this.record('detachRegistry', name);
    this.registries.get(name)?.networks.delete(network);
  }

  async removeRegistry(name: string): Promise<void> {
    await this.record('removeRegistry', name);
    this.registries.delete(name);
  }

  /** Bytes a registry's data volume holds, as a test says (the engine's disk-usage report). */
  readonly registryDataBytes = new Map<string, number>();

  async listRegistryData(): Promise<RegistryData[]> {
    await this.record('listRegistryData');
    return [...this.volumes]
      .filter(([, labels]) => labels[LABEL_REGISTRY] !== undefined)
      .map(([volume, labels]) => ({ name: volume.replace(/-data$/, ''), port: Number(labels[LABEL_REGISTRY]), volume, sizeBytes: this.registryDataBytes.get(volume) }));
  }

  async removeRegistryData(name: string): Promise<void> {
    await this.record('removeRegistryData', name);
    if (this.registries.has(name)) throw new Error(`volume ${name}-data is in use by container ${name}`);
    this.volumes.delete(`${name}-data`);
  }

  /** The swarm this engine is in: its state and, on a manager, its nodes' labels. */
  swarm: SwarmState = { state: 'inactive', nodeId: '', manager: false, nodeAddress: '' };
  readonly swarmNodeLabels = new Map<string, Record<string, string>>();
  /** Set by FakeEngine.joinSwarm on the engine joined: who manages the swarm. */
  swarmManager: FakeEngine | undefined;
  /** Engines a join address leads to (`address:port` → engine), for joinSwarm. */
  static readonly swarmAddresses = new Map<string, FakeEngine>();

  async swarmState(): Promise<SwarmState> {
    await this.record('swarmState');
    return { ...this.swarm };
  }

  async initSwarm(advertiseAddress: string): Promise<void> {
    await this.record('initSwarm', advertiseAddress);
    const nodeId = `swarm-node-${this.nextId++}`;
    this.swarm = { state: 'active', nodeId, manager: true, nodeAddress: advertiseAddress, workerJoinToken: `token-${nodeId}`, createdByKc: true };
    this.swarmNodeLabels.set(nodeId, {});
    FakeEngine.swarmAddresses.set(`${advertiseAddress}:2377`, this);
  }

  async joinSwarm(join: SwarmJoin): Promise<void> {
    await this.record('joinSwarm', join.manager);
    const manager = FakeEngine.swarmAddresses.get(join.manager);
    if (!manager || manager.swarm.workerJoinToken !== join.token) throw new Error(`cannot join the swarm at ${join.manager}`);
    const nodeId = `swarm-node-${this.nextId++}`;
    this.swarm = { state: 'active', nodeId, manager: false, nodeAddress: join.advertiseAddress ?? '' };
    this.swarmManager = manager;
    manager.swarmNodeLabels.set(nodeId, {});
  }

  async leaveSwarm(force: boolean): Promise<void> {
    await this.record('leaveSwarm', String(force));
    if (this.swarm.manager && !force) throw new Error('a manager leaves only with force');
    this.swarmManager?.swarmNodeLabels.delete(this.swarm.nodeId);
    this.swarm = { state: 'inactive', nodeId: '', manager: false, nodeAddress: '' };
    this.swarmManager = undefined;
  }

  async swarmNodes(): Promise<SwarmNode[]> {
    await this.record('swarmNodes');
    return [...this.swarmNodeLabels].map(([id, labels]) => ({ id, state: 'ready', labels }));
  }

  async labelSwarmNode(nodeId: string, labels: Record<string, string>): Promise<void> {
    await this.record('labelSwarmNode', nodeId);
    this.swarmNodeLabels.set(nodeId, { ...(this.swarmNodeLabels.get(nodeId) ?? {}), ...labels });
  }

  async createNode(spec: NodeSpec, filesBeforeBoot: readonly ArchiveEntry[] = []): Promise<void> {
    await this.record('createNode', spec.name);
    if (!this.images.has(spec.image)) throw new Error(`No such image: ${spec.image}`);
    if (this.nodes.has(spec.name)) throw new Error(`Conflict. The container name "/${spec.name}" is already in use`);
    // An overlay lives on the swarm's manager; every member engine attaches to it.
    if (!this.networks.has(spec.network) && !this.swarmManager?.networks.has(spec.network)) throw new Error(`network ${spec.network} not found`);
    for (const volume of spec.volumes) this.volumes.set(volume.name, { [LABEL_CLUSTER]: spec.cluster });
    const labels = { [LABEL_CLUSTER]: spec.cluster, [LABEL_ROLE]: spec.role };
    const node: FakeNode = { spec, id: `node-${this.nextId++}`, state: 'running', labels, files: new Map(), links: new Map() };
    placeEntries(node, filesBeforeBoot);
    this.nodes.set(spec.name, node);
  }

  async listNodes(labels: Record<string, string>): Promise<NodeSummary[]> {
    await this.record('listNodes');
    return [...this.nodes.values()]
      .filter((n) => matches(n.labels, labels))
      .map((n) => ({ id: n.id, name: n.spec.name, state: n.state, labels: n.labels }));
  }

  async listNodesByEngine(labels: Record<string, string>): Promise<EngineNodes[]> {
    try {
      return [{ engine: undefined, nodes: await this.listNodes(labels) }];
    } catch (error) {
      return [{ engine: undefined, unreachable: (error as Error).message }];
    }
  }

  async startNode(ref: OnOneEngine): Promise<void> {
    const name = nameOf(ref);
    await this.record('startNode', name);
    this.node(name).state = 'running';
  }

  async stopNode(ref: OnOneEngine): Promise<void> {
    const name = nameOf(ref);
    await this.record('stopNode', name);
    this.node(name).state = 'exited';
  }

  async removeNode(ref: OnOneEngine): Promise<void> {
    const idOrName = nameOf(ref);
    await this.record('removeNode', idOrName);
    const node = this.nodes.get(idOrName) ?? [...this.nodes.values()].find((n) => n.id === idOrName);
    if (node) this.nodes.delete(node.spec.name);
  }

  async listVolumes(labels: Record<string, string>): Promise<ResourceRef[]> {
    await this.record('listVolumes');
    return [...this.volumes].filter(([, l]) => matches(l, labels)).map(([name]) => ({ name }));
  }

  async removeVolume(ref: OnOneEngine): Promise<void> {
    const name = nameOf(ref);
    await this.record('removeVolume', name);
    this.volumes.delete(name);
  }

  async inspectNode(ref: OnOneEngine): Promise<object | undefined> {
    const idOrName = nameOf(ref);
    await this.record('inspectNode', idOrName);
    const node = this.nodes.get(idOrName);
    return node ? { Name: node.spec.name, State: { Status: node.state }, Config: { Labels: node.labels } } : undefined;
  }

  async publishedPorts(ref: OnOneEngine): Promise<PublishedPort[]> {
    const idOrName = nameOf(ref);
    await this.record('publishedPorts', idOrName);
    return [...(this.nodes.get(idOrName)?.spec.ports ?? [])];
  }

  async nodeLogs(ref: OnOneEngine): Promise<string> {
    const idOrName = nameOf(ref);
    await this.record('nodeLogs', idOrName);
    this.node(idOrName);
    return '';
  }

  async memoryUsageBytes(ref: OnOneEngine): Promise<number> {
    const idOrName = nameOf(ref);
    await this.record('memoryUsageBytes', idOrName);
    this.node(idOrName);
    return 0;
  }

  async exec(ref: OnOneEngine, command: string[], input?: string | Readable): Promise<ExecResult> {
    const name = nameOf(ref);
    await this.record('exec', name, command.join(' '));
    const node = this.node(name);
    if (node.state !== 'running') throw new Error(`container ${name} is not running`);
    let text: string | undefined;
    if (typeof input === 'string') text = input;
    else if (input !== undefined) {
      const chunks: Buffer[] = [];
      for await (const chunk of input) chunks.push(Buffer.from(chunk as Buffer));
      text = Buffer.concat(chunks).toString('utf8');
    }
    return this.onExec(node, command, text);
  }

  /** What a probe container answers; exit code 0 and no output by default. */
  onRunOnce: (image: string, command: string[]) => ExecResult = () => ({ exitCode: 0, stdout: '', stderr: '' });

  async runOnce(image: string, command: string[]): Promise<ExecResult> {
    await this.record('runOnce', image);
    if (!this.images.has(image)) throw new Error(`No such image: ${image}`);
    return this.onRunOnce(image, command);
  }

  async copyFiles(ref: OnOneEngine, files: readonly ArchiveEntry[]): Promise<void> {
    const name = nameOf(ref);
    await this.record('copyFiles', name);
    placeEntries(this.node(name), files);
  }

  async readFile(ref: OnOneEngine, path: string): Promise<Buffer> {
    const name = nameOf(ref);
    await this.record('readFile', `${name}:${path}`);
    const file = this.node(name).files.get(path);
    if (!file) throw new Error(`Could not find the file ${path} in container ${name}`);
    return typeof file.content === 'string' ? Buffer.from(file.content) : file.content;
  }

  async readFolder(ref: OnOneEngine, path: string): Promise<Readable> {
    const name = nameOf(ref);
    await this.record('readFolder', `${name}:${path}`);
    const folder = path.replace(/\/+$/, '');
    const top = folder.slice(folder.lastIndexOf('/') + 1);
    const inside = [...this.node(name).files.values()].filter((file) => file.path.startsWith(`${folder}/`));
    if (inside.length === 0) throw new Error(`Could not find the file ${path} in container ${name}`);
    const archive = await packInMemory((pack) => {
      for (const file of inside) pack.entry({ name: `${top}${file.path.slice(folder.length)}`, mode: file.mode ?? 0o644 }, file.content);
    });
    return Readable.from(archive);
  }

  async imageLabels(tag: string): Promise<Record<string, string> | undefined> {
    await this.record('imageLabels', tag);
    return this.images.get(tag);
  }

  async imageId(tag: string): Promise<string | undefined> {
    await this.record('imageId', tag);
    return this.images.has(tag) ? `sha256:${Buffer.from(tag).toString('hex')}` : undefined;
  }

  async imageSize(tag: string): Promise<number> {
    await this.record('imageSize', tag);
    if (!this.images.has(tag)) throw new Error(`No such image: ${tag}`);
    return 0;
  }

  async pullImage(tag: string): Promise<void> {
    await this.record('pullImage', tag);
    const image = this.pullable.get(tag);
    if (!image) throw new Error(`cannot pull ${tag}: not found`);
    this.images.set(tag, image);
  }

  async tryPull(tag: string): Promise<boolean> {
    await this.record('tryPull', tag);
    const image = this.pullable.get(tag);
    if (!image) return false;
    this.images.set(tag, image);
    return true;
  }

  async tagImage(tag: string, as: string): Promise<void> {
    await this.record('tagImage', `${tag} ${as}`);
    const image = this.images.get(tag);
    if (!image) throw new Error(`no such image: ${tag}`);
    this.images.set(as, image);
  }

  async buildImage(context: Readable, options: { tag: string; labels?: Record<string, string> }): Promise<void> {
    await this.record('buildImage', options.tag);
    // Read the whole context, as an engine does: a context that cannot be read fails the build here too.
    for await (const chunk of context) void chunk;
    this.images.set(options.tag, options.labels ?? {});
  }

  /** Images pushed, as `tag → name it was pushed as`. */
  readonly pushed: string[] = [];

  async pushImage(tag: string, as: string): Promise<void> {
    await this.record('pushImage', tag);
    if (!this.images.has(tag)) throw new Error(`No such image: ${tag}`);
    this.images.set(as, this.images.get(tag) ?? {});
    this.pullable.set(as, this.images.get(tag) ?? {});
    this.pushed.push(`${tag} → ${as}`);
  }

  async importImage(_rootfs: Readable, tag: string): Promise<void> {
    await this.record('importImage', tag);
    this.images.set(tag, {});
  }

  async loadImages(archive: Readable): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of archive) chunks.push(Buffer.from(chunk as Buffer));
    const text = Buffer.concat(chunks).toString('utf8');
    await this.record('loadImages', text);
    for (const tag of text.replace(/^images /, '').split(',')) this.images.set(tag, {});
  }

  async shareImage(tag: string): Promise<string[]> {
    await this.record('shareImage', tag);
    return [];
  }

  async saveImages(tags: string[]): Promise<Readable> {
    await this.record('saveImages', tags.join(','));
    const missing = tags.filter((t) => !this.images.has(t));
    if (missing.length > 0) throw new Error(`No such image: ${missing.join(', ')}`);
    return Readable.from([Buffer.from(`images ${tags.join(',')}`)]);
  }

}

function placeEntries(node: FakeNode, entries: readonly ArchiveEntry[]): void {
  for (const entry of entries) {
    if (isArchiveLink(entry)) node.links.set(entry.path, entry.target);
    else node.files.set(entry.path, entry);
  }
}
