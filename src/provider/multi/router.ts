import type { Readable } from 'node:stream';
import {
  type ArchiveEntry,
  type EngineNodes,
  type ExecResult,
  type NetworkSpec,
  type NetworkSummary,
  type NodeSpec,
  type NodeSummary,
  type NodeRef,
  type ResourceRef,
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
 * pipeline asks as it would ask one engine. Node, volume and network calls go
 * to the engine their reference names (a NodePlan or a NodeSummary carries
 * it: undefined is the engine kc runs on, any other name one of the
 * remotes, and an unknown name is an error, never a guess); listings are the
 * union of every engine's, each item with its engine; images are built on
 * the local engine and shared from it; the cluster network is an attachable
 * swarm overlay managed from the local engine. The swarm itself is `span`'s
 * (a SwarmCoordinator): create joins the engines before it makes the
 * network, delete releases them after it removed it.
 */
export class MultiEngine implements Provider {
  private readonly local: SingleEngine;
  private readonly remotes: RemoteEngine[];
  /** The swarm the cluster network spans: joined by create, released by delete. */
  readonly span: SwarmCoordinator;

  constructor(private readonly options: MultiEngineOptions) {
    this.local = options.local;
    this.remotes = options.remotes;
    this.span = new SwarmCoordinator(options.local, options.remotes, options.localAddress);
  }

  /** Every engine, by the name references give it (undefined: the local one). */
  private get named(): { name: string | undefined; provider: Provider }[] {
    return [{ name: undefined, provider: this.local }, ...this.remotes];
  }

  /** The engine a reference names. */
  private engineOf(ref: ResourceRef): Provider {
    if (ref.engine === undefined) return this.local;
    const remote = this.remotes.find((r) => r.name === ref.engine);
    if (!remote) throw new Error(`internal: ${ref.name} is on engine "${ref.engine}", which this cluster does not have (its engines: local, ${this.remotes.map((r) => r.name).join(', ')})`);
    return remote.provider;
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
    const all = await concurrently(this.named, (e) => e.provider.usedSubnets());
    return [...new Set(all.flat())];
  }

  /** Every engine's networks, once each (an overlay is listed by every engine it reaches: the first, the local one, keeps it). */
  async listNetworks(labels: Record<string, string>): Promise<NetworkSummary[]> {
    const seen = new Map<string, NetworkSummary>();
    for (const { name, provider } of this.named) {
      for (const network of await provider.listNetworks(labels)) {
        if (!seen.has(network.id)) seen.set(network.id, name === undefined ? network : { ...network, engine: name });
      }
    }
    return [...seen.values()];
  }

  /** Removes a network on its engine (the swarm stays: `span.release` is delete's next call). */
  async removeNetwork(network: ResourceRef): Promise<void> {
    await this.engineOf(network).removeNetwork(network);
  }

  // --- nodes ---------------------------------------------------------------------------

  /**
   * Creates a node on its engine. Right after the overlay is created, an
   * engine other than the manager may not know it yet: the attempt is undone
   * and repeated (the issue saw about 5 s once).
   */
  async createNode(spec: NodeSpec, filesBeforeBoot: readonly ArchiveEntry[] = []): Promise<void> {
    const engine = this.engineOf(spec);
    const attempts = this.options.createAttempts ?? 20;
    const pause = this.options.pause ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    for (let attempt = 1; ; attempt++) {
      try {
        await engine.createNode(spec, filesBeforeBoot);
        return;
      } catch (error) {
        if (!isMissingNetwork(error) || attempt >= attempts) throw error;
        await engine.removeNode(spec);
        await pause(500);
      }
    }
  }

  /** Every engine's nodes, each with its engine. */
  async listNodes(labels: Record<string, string>): Promise<NodeSummary[]> {
    const all: NodeSummary[] = [];
    for (const { name, provider } of this.named) {
      for (const container of await provider.listNodes(labels)) all.push(name === undefined ? container : { ...container, engine: name });
    }
    return all;
  }

  /** Each engine asked on its own: one that does not answer is named, with why, and the others still listed. */
  async listNodesByEngine(labels: Record<string, string>): Promise<EngineNodes[]> {
    return concurrently(this.named, async ({ name, provider }): Promise<EngineNodes> => {
      try {
        const nodes = await provider.listNodes(labels);
        return { engine: name, nodes: name === undefined ? nodes : nodes.map((n) => ({ ...n, engine: name })) };
      } catch (error) {
        return { engine: name, unreachable: (error as Error).message };
      }
    });
  }

  async startNode(node: NodeRef): Promise<void> {
    return this.engineOf(node).startNode(node);
  }

  async stopNode(node: NodeRef, timeoutSeconds?: number): Promise<void> {
    return this.engineOf(node).stopNode(node, timeoutSeconds);
  }

  async removeNode(node: NodeRef): Promise<void> {
    return this.engineOf(node).removeNode(node);
  }

  async listVolumes(labels: Record<string, string>): Promise<ResourceRef[]> {
    const all: ResourceRef[] = [];
    for (const { name, provider } of this.named) {
      for (const volume of await provider.listVolumes(labels)) all.push(name === undefined ? volume : { ...volume, engine: name });
    }
    return all;
  }

  async removeVolume(volume: ResourceRef): Promise<void> {
    return this.engineOf(volume).removeVolume(volume);
  }

  async inspectNode(node: NodeRef): Promise<object | undefined> {
    return this.engineOf(node).inspectNode(node);
  }

  async publishedPorts(node: NodeRef): Promise<PublishedPort[]> {
    return this.engineOf(node).publishedPorts(node);
  }

  async nodeLogs(node: NodeRef): Promise<string> {
    return this.engineOf(node).nodeLogs(node);
  }

  async memoryUsageBytes(node: NodeRef): Promise<number> {
    return this.engineOf(node).memoryUsageBytes(node);
  }

  async exec(node: NodeRef, command: string[], input?: string | Readable): Promise<ExecResult> {
    return this.engineOf(node).exec(node, command, input);
  }

  async copyFiles(node: NodeRef, files: readonly ArchiveEntry[]): Promise<void> {
    return this.engineOf(node).copyFiles(node, files);
  }

  async readFile(node: NodeRef, path: string): Promise<Buffer> {
    return this.engineOf(node).readFile(node, path);
  }

  async readFolder(node: NodeRef, path: string): Promise<Readable> {
    return this.engineOf(node).readFolder(node, path);
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

  pullImage(tag: string): Promise<void> {
    return this.local.pullImage(tag);
  }

  tryPull(tag: string): Promise<boolean> {
    return this.local.tryPull(tag);
  }

  tagImage(tag: string, as: string): Promise<void> {
    return this.local.tagImage(tag, as);
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
