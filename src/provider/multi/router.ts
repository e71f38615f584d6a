import type { Readable } from 'node:stream';
import {
  type ArchiveEntry,
  type EngineNodes,
  type ExecResult,
  type NetworkSpec,
  type NetworkSummary,
  type NodeSpec,
  type NodeSummary,
  type PublishedPort,
  type Provider,
  type SingleEngine,
} from '../provider.js';
import { concurrently } from '../../util/concurrent.js';
import { SwarmCoordinator, type RemoteEngine } from './swarm.js';

export { EngineMismatchError, type RemoteEngine } from './swarm.js';

export interface MultiEngineOptions {
  /** The engine kc runs on: images are built there, the swarm is managed from there. */
  local: SingleEngine;
  remotes: RemoteEngine[];
  /** The address the remote engines reach the local one at, when it must start a swarm. */
  localAddress: () => Promise<string>;
  /** Tries before giving up on a node whose network is not yet known on its engine (an overlay is announced, not created, there). */
  createAttempts?: number;
  pause?: (ms: number) => Promise<void>;
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
 * attachable swarm overlay managed from the local engine. The swarm itself is
 * `span`'s (a SwarmCoordinator): create joins the engines before it makes the
 * network, delete releases them after it removed it.
 */
export class MultiEngine implements Provider {
  private readonly local: SingleEngine;
  private readonly remotes: RemoteEngine[];
  /** The swarm the cluster network spans: joined by create, released by delete. */
  readonly span: SwarmCoordinator;
  /** Container and volume (names and ids) → the engine that has them. */
  private readonly where = new Map<string, Provider>();

  constructor(private readonly options: MultiEngineOptions) {
    this.local = options.local;
    this.remotes = options.remotes;
    this.span = new SwarmCoordinator(options.local, options.remotes, options.localAddress);
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
      if (await engine.inspectNode(idOrName)) {
        this.where.set(idOrName, engine);
        return engine;
      }
    }
    return this.local;
  }

  // --- the engines ------------------------------------------------------------------

  /** Every engine answers and can take part in one swarm (see SwarmCoordinator.check); the local engine's version. */
  ensureReachable(): Promise<string> {
    return this.span.check();
  }

  engineVersion(): Promise<object> {
    return this.local.engineVersion();
  }

  engineInfo(): Promise<Record<string, unknown>> {
    return this.local.engineInfo();
  }

  // --- networks ------------------------------------------------------------------------

  /** The cluster network spans the engines: an attachable overlay of the local engine's swarm (joined by `span` first). */
  async createNetwork(spec: NetworkSpec): Promise<void> {
    await this.local.createNetwork({ ...spec, spansEngines: true });
  }

  /** Every engine's subnets, swarm overlays included: a new cluster network must overlap none of them. */
  async usedSubnets(): Promise<string[]> {
    const all = await concurrently(this.all, (e) => e.usedSubnets());
    return [...new Set(all.flat())];
  }

  async listNetworks(labels: Record<string, string>): Promise<NetworkSummary[]> {
    const seen = new Map<string, NetworkSummary>();
    for (const engine of this.all) {
      for (const network of await engine.listNetworks(labels)) {
        if (seen.has(network.id)) continue;
        seen.set(network.id, network);
        this.where.set(network.id, engine);
      }
    }
    return [...seen.values()];
  }

  /** Removes a network where it lives (the swarm stays: `span.release` is delete's next call). */
  async removeNetwork(idOrName: string): Promise<void> {
    const engine = this.where.get(idOrName);
    if (engine) await engine.removeNetwork(idOrName);
    else for (const e of this.all) await e.removeNetwork(idOrName);
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
        await engine.removeNode(spec.name);
        await pause(500);
      }
    }
  }

  async listNodes(labels: Record<string, string>): Promise<NodeSummary[]> {
    const all: NodeSummary[] = [];
    const named = [{ name: undefined, provider: this.local }, ...this.remotes];
    for (const { name, provider } of named) {
      for (const container of await provider.listNodes(labels)) {
        this.where.set(container.id, provider);
        this.where.set(container.name, provider);
        all.push(name === undefined ? container : { ...container, engine: name });
      }
    }
    return all;
  }

  /** Each engine asked on its own: one that does not answer is named, with why, and the others still listed. */
  async listNodesByEngine(labels: Record<string, string>): Promise<EngineNodes[]> {
    const named = [{ name: undefined, provider: this.local as Provider }, ...this.remotes];
    return concurrently(named, async ({ name, provider }): Promise<EngineNodes> => {
      try {
        const nodes = await provider.listNodes(labels);
        return { engine: name, nodes: name === undefined ? nodes : nodes.map((n) => ({ ...n, engine: name })) };
      } catch (error) {
        return { engine: name, unreachable: (error as Error).message };
      }
    });
  }

  async startNode(name: string): Promise<void> {
    return (await this.engineOf(name)).startNode(name);
  }

  async stopNode(name: string, timeoutSeconds?: number): Promise<void> {
    return (await this.engineOf(name)).stopNode(name, timeoutSeconds);
  }

  async removeNode(idOrName: string): Promise<void> {
    return (await this.engineOf(idOrName)).removeNode(idOrName);
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

  async inspectNode(idOrName: string): Promise<object | undefined> {
    return (await this.engineOf(idOrName)).inspectNode(idOrName);
  }

  async publishedPorts(idOrName: string): Promise<PublishedPort[]> {
    return (await this.engineOf(idOrName)).publishedPorts(idOrName);
  }

  async nodeLogs(idOrName: string): Promise<string> {
    return (await this.engineOf(idOrName)).nodeLogs(idOrName);
  }

  async memoryUsageBytes(idOrName: string): Promise<number> {
    return (await this.engineOf(idOrName)).memoryUsageBytes(idOrName);
  }

  async exec(node: string, command: string[], input?: string | Readable): Promise<ExecResult> {
    return (await this.engineOf(node)).exec(node, command, input);
  }


  async copyFiles(node: string, files: readonly ArchiveEntry[]): Promise<void> {
    return (await this.engineOf(node)).copyFiles(node, files);
  }

  async readFile(node: string, path: string): Promise<Buffer> {
    return (await this.engineOf(node)).readFile(node, path);
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

  pushImage(tag: string, as: string): Promise<void> {
    return this.local.pushImage(tag, as);
  }

  saveImages(tags: string[]): Promise<Readable> {
    return this.local.saveImages(tags);
  }

}
