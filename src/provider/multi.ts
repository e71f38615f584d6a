import type { Readable } from 'node:stream';
import {
  EngineUnavailableError,
  LABEL_SPANS_ENGINES,
  LABEL_SWARM_BY_KC,
  type ArchiveEntry,
  type ExecResult,
  type NetworkSpec,
  type NetworkSummary,
  type NodeSpec,
  type NodeSummary,
  type Provider,
  type SwarmJoin,
  type SwarmNode,
  type SwarmState,
} from './provider.js';

/** A Docker engine other than the one kc runs on, as the cluster's config names it. */
export interface RemoteEngine {
  name: string;
  /** What the user wrote (`tcp://10.0.0.2:2375`), for messages. */
  host: string;
  provider: Provider;
  /** The address the other engines reach it at (swarm advertise/data-path address); undefined: Docker picks. */
  advertiseAddress: string | undefined;
}

export interface MultiEngineOptions {
  /** The engine kc runs on: images are built there, the swarm is managed from there. */
  local: Provider;
  remotes: RemoteEngine[];
  /** The address the remote engines reach the local one at, when it must start a swarm. */
  localAddress: () => Promise<string>;
  /** Tries before giving up on a node whose network is not yet known on its engine (an overlay is announced, not created, there). */
  createAttempts?: number;
  pause?: (ms: number) => Promise<void>;
}

/** An engine that cannot join this cluster: said before anything is created. */
export class EngineMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineMismatchError';
  }
}

/** Docker's `major.minor`: engines of one swarm should run the same one. */
function majorMinor(version: string): string {
  return version.split('.').slice(0, 2).join('.');
}

function isMissingNetwork(error: unknown): boolean {
  return /network .* not found|no such network/i.test((error as Error).message);
}

/**
 * One cluster on several Docker engines behind the Provider interface: the
 * pipeline asks as it would ask one engine. Node calls go to the engine the
 * node lives on (named in its NodeSpec when created, found by asking each
 * engine otherwise), listings are the union of every engine's, images are
 * built on the local engine and shared from it, and the cluster network is an
 * attachable swarm overlay managed from the local engine: kc starts the swarm
 * (or uses the one the engines are in), and takes engines out of the swarm it
 * made once no cluster network spanning engines is left.
 */
export class MultiEngine implements Provider {
  private readonly local: Provider;
  private readonly remotes: RemoteEngine[];
  /** Container and volume (names and ids) → the engine that has them. */
  private readonly where = new Map<string, Provider>();
  private readonly spanningNetworks = new Set<string>();

  constructor(private readonly options: MultiEngineOptions) {
    this.local = options.local;
    this.remotes = options.remotes;
  }

  private get all(): Provider[] {
    return [this.local, ...this.remotes.map((r) => r.provider)];
  }

  private engineNamed(name: string | undefined): Provider {
    if (name === undefined) return this.local;
    const remote = this.remotes.find((r) => r.name === name);
    if (!remote) throw new Error(`internal: no engine named "${name}" (known: ${this.remotes.map((r) => r.name).join(', ')})`);
    return remote.provider;
  }

  /** The engine a container or volume is on: remembered, or found by asking each engine. */
  private async engineOf(idOrName: string): Promise<Provider> {
    const known = this.where.get(idOrName);
    if (known) return known;
    for (const engine of this.all) {
      if (await engine.inspectContainer(idOrName)) {
        this.where.set(idOrName, engine);
        return engine;
      }
    }
    return this.local;
  }

  // --- the engines ------------------------------------------------------------------

  /**
   * Every engine answers, runs the local engine's Docker version (major.minor)
   * and has swarm mode; a remote engine already in a swarm must be in the
   * local engine's. The local engine's version is the answer.
   */
  async ensureReachable(): Promise<string> {
    const version = await this.local.ensureReachable();
    const localSwarm = await this.swarmOf('local', this.local, 'the engine kc runs on');
    if (localSwarm.state === 'active' && !localSwarm.manager) {
      throw new EngineMismatchError(
        'the engine kc runs on is a swarm worker: cluster networks across engines are created on a swarm manager. Run kc on a manager, or take this engine out of its swarm (docker swarm leave).',
      );
    }
    const members = localSwarm.manager ? new Set((await this.local.swarmNodes()).map((n) => n.id)) : new Set<string>();
    for (const remote of this.remotes) {
      const remoteVersion = await this.remoteVersion(remote);
      if (majorMinor(remoteVersion) !== majorMinor(version)) {
        throw new EngineMismatchError(
          `engine "${remote.name}" (${remote.host}) runs Docker ${remoteVersion}, the engine kc runs on ${version}: engines of one swarm must run the same Docker version. Upgrade one of them.`,
        );
      }
      const swarm = await this.swarmOf(remote.name, remote.provider, `engine "${remote.name}" (${remote.host})`);
      if (swarm.state === 'active' && !members.has(swarm.nodeId)) {
        throw new EngineMismatchError(
          `engine "${remote.name}" (${remote.host}) is in another swarm than the engine kc runs on: make it leave (docker swarm leave) or join it to this engine's swarm.`,
        );
      }
    }
    return version;
  }

  /** A remote engine's version; its failure named after the remote as the config names it, in the words every engine failure has. */
  private async remoteVersion(remote: RemoteEngine): Promise<string> {
    try {
      return await remote.provider.ensureReachable();
    } catch (error) {
      const cause = error instanceof EngineUnavailableError ? error.cause : error;
      throw new EngineUnavailableError({ name: remote.name, host: remote.host }, cause);
    }
  }

  private async swarmOf(_name: string, engine: Provider, label: string): Promise<SwarmState> {
    let state: SwarmState;
    try {
      state = await engine.swarmState();
    } catch (error) {
      if (error instanceof EngineUnavailableError) throw error;
      throw new EngineMismatchError(`${label} has no swarm mode (${(error as Error).message}): a cluster across engines needs Docker's swarm mode on each engine.`);
    }
    if (!['inactive', 'active'].includes(state.state)) {
      throw new EngineMismatchError(`${label} is in swarm state "${state.state}": wait until it settles, or reset it (docker swarm leave --force).`);
    }
    return state;
  }

  engineVersion(): Promise<object> {
    return this.local.engineVersion();
  }

  engineInfo(): Promise<Record<string, unknown>> {
    return this.local.engineInfo();
  }

  // --- the swarm ---------------------------------------------------------------------

  /** The local engine manages a swarm (kc's, when it had none) and every remote engine is in it, labelled when kc joined it. */
  private async ensureSwarm(): Promise<void> {
    let manager = await this.local.swarmState();
    if (manager.state !== 'active') {
      await this.local.initSwarm(await this.options.localAddress());
      manager = await this.local.swarmState();
    }
    const join: Omit<SwarmJoin, 'advertiseAddress'> = { manager: `${manager.nodeAddress}:2377`, token: manager.workerJoinToken ?? '' };
    for (const remote of this.remotes) {
      if ((await remote.provider.swarmState()).state === 'active') continue;
      await remote.provider.joinSwarm({ ...join, advertiseAddress: remote.advertiseAddress });
      const joined = await remote.provider.swarmState();
      await this.local.labelSwarmNode(joined.nodeId, { [LABEL_SWARM_BY_KC]: 'joined' });
    }
  }

  /**
   * Once no network spanning engines is left: remote engines kc joined leave
   * the swarm, then the local engine, if kc made the swarm and no engine kc
   * did not join is still in it. A swarm kc did not make is left as it is.
   */
  private async releaseSwarm(removedNetwork?: string): Promise<void> {
    const manager = await this.local.swarmState();
    if (!manager.manager) return;
    // The manager may still list a network it has just removed.
    const left = await this.local.listNetworks({ [LABEL_SPANS_ENGINES]: '' });
    if (left.some((n) => n.id !== removedNetwork && n.name !== removedNetwork)) return;
    const nodes = await this.local.swarmNodes();
    const joinedByKc = new Set(nodes.filter((n) => n.labels[LABEL_SWARM_BY_KC] !== undefined).map((n) => n.id));
    const gone = new Set<string>();
    for (const remote of this.remotes) {
      const swarm = await remote.provider.swarmState();
      if (swarm.state !== 'active' || !joinedByKc.has(swarm.nodeId)) continue;
      await remote.provider.leaveSwarm(false);
      gone.add(swarm.nodeId);
      // The bridge swarm mode gave it: nothing else uses it once the engine left.
      await remote.provider.removeNetwork('docker_gwbridge').catch(() => undefined);
    }
    const others = nodes.filter((n) => n.id !== manager.nodeId && !gone.has(n.id) && n.state !== 'down');
    if (!manager.createdByKc || others.length > 0) return;
    await this.local.leaveSwarm(true);
    await this.local.removeNetwork('docker_gwbridge').catch(() => undefined);
  }

  swarmState(): Promise<SwarmState> {
    return this.local.swarmState();
  }

  initSwarm(advertiseAddress: string): Promise<void> {
    return this.local.initSwarm(advertiseAddress);
  }

  joinSwarm(join: SwarmJoin): Promise<void> {
    return this.local.joinSwarm(join);
  }

  leaveSwarm(force: boolean): Promise<void> {
    return this.local.leaveSwarm(force);
  }

  swarmNodes(): Promise<SwarmNode[]> {
    return this.local.swarmNodes();
  }

  labelSwarmNode(nodeId: string, labels: Record<string, string>): Promise<void> {
    return this.local.labelSwarmNode(nodeId, labels);
  }

  // --- networks ------------------------------------------------------------------------

  /** The cluster network spans the engines: an attachable overlay of the local engine's swarm. */
  async createNetwork(spec: NetworkSpec): Promise<void> {
    try {
      await this.ensureSwarm();
      await this.local.createNetwork({ ...spec, spansEngines: true });
    } catch (error) {
      // No network was made: the swarm kc may just have made has no cluster to serve.
      await this.releaseSwarm().catch(() => undefined);
      throw error;
    }
  }

  /** Every engine's subnets, swarm overlays included: a new cluster network must overlap none of them. */
  async usedSubnets(): Promise<string[]> {
    const all = await Promise.all(this.all.map((e) => e.usedSubnets()));
    return [...new Set(all.flat())];
  }

  async listNetworks(labels: Record<string, string>): Promise<NetworkSummary[]> {
    const seen = new Map<string, NetworkSummary>();
    for (const engine of this.all) {
      for (const network of await engine.listNetworks(labels)) {
        if (seen.has(network.id)) continue;
        seen.set(network.id, network);
        this.where.set(network.id, engine);
        if (network.labels[LABEL_SPANS_ENGINES] !== undefined) this.spanningNetworks.add(network.id);
      }
    }
    return [...seen.values()];
  }

  /** Removes a network where it lives; after the last network spanning engines, the swarm kc made goes too. */
  async removeNetwork(idOrName: string): Promise<void> {
    const engine = this.where.get(idOrName);
    if (engine) await engine.removeNetwork(idOrName);
    else for (const e of this.all) await e.removeNetwork(idOrName);
    if (this.spanningNetworks.delete(idOrName) || !engine) await this.releaseSwarm(idOrName);
  }

  // --- nodes ---------------------------------------------------------------------------

  /**
   * Creates a node on its engine. Right after the overlay is created, an
   * engine other than the manager may not know it yet: the attempt is undone
   * and repeated (the issue saw about 5 s once).
   */
  async createNode(spec: NodeSpec, filesBeforeBoot: readonly ArchiveEntry[] = []): Promise<void> {
    const engine = this.engineNamed(spec.engine);
    this.where.set(spec.name, engine);
    const attempts = this.options.createAttempts ?? 20;
    const pause = this.options.pause ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    for (let attempt = 1; ; attempt++) {
      try {
        await engine.createNode(spec, filesBeforeBoot);
        return;
      } catch (error) {
        if (!isMissingNetwork(error) || attempt >= attempts) throw error;
        await engine.removeContainer(spec.name);
        await pause(500);
      }
    }
  }

  async listContainers(labels: Record<string, string>): Promise<NodeSummary[]> {
    const all: NodeSummary[] = [];
    const named = [{ name: undefined, provider: this.local }, ...this.remotes];
    for (const { name, provider } of named) {
      for (const container of await provider.listContainers(labels)) {
        this.where.set(container.id, provider);
        this.where.set(container.name, provider);
        all.push(name === undefined ? container : { ...container, engine: name });
      }
    }
    return all;
  }

  async startContainer(name: string): Promise<void> {
    return (await this.engineOf(name)).startContainer(name);
  }

  async stopContainer(name: string, timeoutSeconds?: number): Promise<void> {
    return (await this.engineOf(name)).stopContainer(name, timeoutSeconds);
  }

  async removeContainer(idOrName: string): Promise<void> {
    return (await this.engineOf(idOrName)).removeContainer(idOrName);
  }

  async listVolumes(labels: Record<string, string>): Promise<string[]> {
    const all: string[] = [];
    for (const engine of this.all) {
      for (const volume of await engine.listVolumes(labels)) {
        this.where.set(`volume:${volume}`, engine);
        all.push(volume);
      }
    }
    return all;
  }

  async removeVolume(name: string): Promise<void> {
    const engine = this.where.get(`volume:${name}`);
    if (engine) return engine.removeVolume(name);
    for (const e of this.all) await e.removeVolume(name);
  }

  async inspectContainer(idOrName: string): Promise<object | undefined> {
    return (await this.engineOf(idOrName)).inspectContainer(idOrName);
  }

  async containerLogs(idOrName: string): Promise<string> {
    return (await this.engineOf(idOrName)).containerLogs(idOrName);
  }

  async memoryUsageBytes(idOrName: string): Promise<number> {
    return (await this.engineOf(idOrName)).memoryUsageBytes(idOrName);
  }

  async exec(node: string, command: string[], input?: string | Readable): Promise<ExecResult> {
    return (await this.engineOf(node)).exec(node, command, input);
  }

  async execOrThrow(node: string, command: string[], input?: string | Readable): Promise<string> {
    return (await this.engineOf(node)).execOrThrow(node, command, input);
  }

  async copyFiles(node: string, files: readonly ArchiveEntry[]): Promise<void> {
    return (await this.engineOf(node)).copyFiles(node, files);
  }

  /** Probes run on the local engine (the one that builds the images they use). */
  runOnce(image: string, command: string[], options?: { privileged?: boolean; labels?: Record<string, string> }): Promise<ExecResult> {
    return this.local.runOnce(image, command, options);
  }

  // --- images: built and kept on the local engine, shared from it -----------------------

  /** Streams the image from the local engine to every remote engine that lacks this very image (by ID). */
  async shareImage(tag: string): Promise<string[]> {
    const id = await this.local.imageId(tag);
    if (id === undefined) throw new Error(`image ${tag} is not on the engine kc runs on: nothing to share`);
    const copied: string[] = [];
    for (const remote of this.remotes) {
      if ((await remote.provider.imageId(tag)) === id) continue;
      await remote.provider.loadImages(await this.local.saveImages([tag]));
      copied.push(remote.name);
    }
    return copied;
  }

  imageLabels(tag: string): Promise<Record<string, string> | undefined> {
    return this.local.imageLabels(tag);
  }

  imageId(tag: string): Promise<string | undefined> {
    return this.local.imageId(tag);
  }

  imageSize(tag: string): Promise<number> {
    return this.local.imageSize(tag);
  }

  tryPull(tag: string): Promise<boolean> {
    return this.local.tryPull(tag);
  }

  buildImage(
    context: Readable,
    options: { tag: string; buildArgs?: Record<string, string>; labels?: Record<string, string> },
    onOutput?: (line: string) => void,
  ): Promise<void> {
    return this.local.buildImage(context, options, onOutput);
  }

  importImage(rootfs: Readable, tag: string): Promise<void> {
    return this.local.importImage(rootfs, tag);
  }

  loadImages(archive: Readable): Promise<void> {
    return this.local.loadImages(archive);
  }

  saveImages(tags: string[]): Promise<Readable> {
    return this.local.saveImages(tags);
  }

  removeImage(tag: string): Promise<void> {
    return this.local.removeImage(tag);
  }
}
