import type { Readable } from 'node:stream';
import { describeEngineFailure, type EngineFailureKind, type EngineRef } from './engine-failure.js';

/**
 * The one seam between kc and a container engine (kind's "provider"): what
 * kc asks of an engine, in kc's words, split by role (engine info, networks,
 * nodes, images; swarm membership for the multi-engine provider alone). The Docker implementation
 * (provider/docker) is the only code that talks to Docker; the in-memory one
 * (provider/fake) lets create, rollback, --retain and delete run in unit tests.
 */

/** Labels on every resource kc creates: they say which cluster owns it, and a node's role. */
export const LABEL_CLUSTER = 'dev.kc.cluster';
export const LABEL_ROLE = 'dev.kc.role';
/** On a cluster network that spans engines (a swarm overlay): delete leaves swarms kc made once none is left. */
export const LABEL_SPANS_ENGINES = 'dev.kc.spans-engines';
/** On a swarm kc initialised, and on swarm nodes kc joined: only those does kc ever take out of swarm mode. */
export const LABEL_SWARM_BY_KC = 'dev.kc.swarm';
/** On a registry container kc runs beside its clusters: the host port it serves. */
export const LABEL_REGISTRY = 'dev.kc.registry';

/**
 * An engine kc cannot use (unreachable, refused, a login or TLS that failed,
 * too old): the message names the engine, its address and what to do (see
 * describeEngineFailure). The error it came from is its `cause`.
 */
export class EngineUnavailableError extends Error {
  readonly kind: EngineFailureKind;

  constructor(
    readonly engine: EngineRef,
    cause: unknown,
  ) {
    const failure = describeEngineFailure(cause, engine);
    super(failure.message, { cause });
    this.name = 'EngineUnavailableError';
    this.kind = failure.kind;
  }
}

/** The subnet was free when kc looked, but another network (a cluster created at the same time) took it. */
export class SubnetTakenError extends Error {
  constructor(readonly subnet: string) {
    super(`subnet ${subnet} is already used by another network`);
    this.name = 'SubnetTakenError';
  }
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A file to place in a node: its absolute path, text or bytes, and mode (default 0644). */
export interface ArchiveFile {
  path: string;
  content: string | Buffer;
  mode?: number;
}

/** A symbolic link to place in a node: a systemd unit enabled for boot, say. */
export interface ArchiveLink {
  path: string;
  target: string;
}

export type ArchiveEntry = ArchiveFile | ArchiveLink;

export function isArchiveLink(entry: ArchiveEntry): entry is ArchiveLink {
  return 'target' in entry;
}

export interface NetworkSpec {
  name: string;
  cluster: string;
  subnet: string;
  gateway: string;
  /** Nodes of the cluster live on several engines: the network is an attachable swarm overlay, not a bridge. */
  spansEngines?: boolean;
  /** The part of the subnet the engine may give out itself (a swarm overlay's per-engine endpoints); the rest is kc's. */
  engineRange?: string;
}

/** Where an engine stands in Docker's swarm mode, as far as kc needs to know. */
export interface SwarmState {
  /** `inactive` (not in a swarm), `active`, or a transition (`pending`, `error`, `locked`). */
  state: string;
  /** Its id as a swarm node; '' when not in a swarm. */
  nodeId: string;
  manager: boolean;
  /** The address other swarm nodes reach this one at; '' when not in a swarm. */
  nodeAddress: string;
  /** Managers only: the token another engine joins with as a worker, and whether kc made this swarm. */
  workerJoinToken?: string;
  createdByKc?: boolean;
}

export interface SwarmNode {
  id: string;
  /** `ready`, `down`, ... */
  state: string;
  labels: Record<string, string>;
}

export interface SwarmJoin {
  /** A manager's `address:port`. */
  manager: string;
  token: string;
  /** The address other engines reach this one at (swarm's advertise and data-path address). */
  advertiseAddress: string | undefined;
}

/**
 * A container, volume or network as kc addresses it: its name (or ID), and
 * the engine it is on (an `engines[].name`; undefined: the engine kc runs
 * on). A NodePlan and a NodeSummary are each one: a node carries its engine,
 * so no layer asks again which engine it is on.
 */
export interface ResourceRef {
  readonly name: string;
  readonly engine?: string | undefined;
}

/** A node as kc addresses it (see ResourceRef). */
export type NodeRef = ResourceRef;

/** A single engine also takes a bare name: it has only the one engine. */
export type OnOneEngine = ResourceRef | string;

/** The name (or ID) a reference gives. */
export function nameOf(resource: OnOneEngine): string {
  return typeof resource === 'string' ? resource : resource.name;
}

export interface NetworkSummary {
  id: string;
  name: string;
  labels: Record<string, string>;
  /** The engine it was listed on (see ResourceRef). */
  engine?: string;
}

/** A port of a node published on the host. Host port 0 means "any free one" (kc pins ports before asking). */
export interface PublishedPort {
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIp: string;
  hostPort: number;
}

export interface NodeMount {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
}

/**
 * A node as kc wants it: who it is and where it sits. How an engine runs a
 * node (privileged, systemd as PID 1, a private cgroup namespace, a runtime
 * that fits the host) is the provider's to decide, in one place.
 */
export interface NodeSpec {
  /** Container name and hostname. */
  name: string;
  /** The engine it runs on (an `engines[].name` of the cluster's config); undefined: the engine kc runs on. */
  engine?: string;
  cluster: string;
  role: string;
  image: string;
  network: string;
  /** Its fixed address on the network; undefined lets the engine pick one. */
  ip: string | undefined;
  ports: PublishedPort[];
  mounts: NodeMount[];
  /** Named volumes (labelled with the cluster) → where they are mounted. */
  volumes: { name: string; path: string }[];
  /**
   * The cluster's nodes by name and fixed address, for the node's hosts file:
   * etcd peers, kubelets and the lb find each other without depending on the
   * engine's DNS, which has been seen to answer "no such host" for every node
   * of a fresh network under load. Empty: names resolve through the engine's DNS only.
   */
  peers: { name: string; ip: string }[];
}

export interface NodeSummary {
  id: string;
  name: string;
  /** `running`, `exited`, `created`, ... */
  state: string;
  labels: Record<string, string>;
  /** The engine it runs on, when a provider spans several (an `engines[].name`); undefined: the local one. */
  engine?: string;
}

/** One engine's answer to a listing: its nodes, or why it gave none (it did not answer). */
export type EngineNodes = { engine: string | undefined; nodes: NodeSummary[] } | { engine: string | undefined; unreachable: string };

/** What an engine is and can do: answered before a create, and for bug reports. */
export interface EngineInfo {
  /** The engine's version; an EngineUnavailableError when it does not answer. */
  ensureReachable(): Promise<string>;
  /** What the engine says about itself (version and info), for bug reports. */
  engineVersion(): Promise<object>;
  engineInfo(): Promise<Record<string, unknown>>;
  /**
   * Runs a command in a short-lived container of `image` (no network), then
   * removes it: probes of what the engine's kernel can do.
   */
  runOnce(image: string, command: string[], options?: { privileged?: boolean; labels?: Record<string, string> }): Promise<ExecResult>;
}

/** The cluster networks an engine holds. */
export interface Networks {
  /** Creates a cluster network; a SubnetTakenError when another network got the subnet first. */
  createNetwork(spec: NetworkSpec): Promise<void>;
  /** Every IPv4 subnet the engine's networks use. */
  usedSubnets(): Promise<string[]>;
  listNetworks(labels: Record<string, string>): Promise<NetworkSummary[]>;
  /** Removes a network (by name or ID) on its engine; absent is fine. */
  removeNetwork(network: ResourceRef): Promise<void>;
}

/** Working inside a running node: what waits, kubectl and node changes need, and nothing more. */
export interface NodeExec {
  /** Runs a command in a node; `input` is its stdin, text or a stream piped through as it comes. */
  exec(node: NodeRef, command: string[], input?: string | Readable): Promise<ExecResult>;
  /** Puts files and links into a node (parents created as needed). */
  copyFiles(node: NodeRef, files: readonly ArchiveEntry[]): Promise<void>;
  /** A regular file's bytes, read out of a node (an etcd snapshot, say); an error when it is absent. */
  readFile(node: NodeRef, path: string): Promise<Buffer>;
  /**
   * A folder of a node as a tar stream, as `docker cp` gives it: entries named
   * from the folder itself (`pods/...` for /var/log/pods); an error when absent.
   */
  readFolder(node: NodeRef, path: string): Promise<Readable>;
}

/** The nodes themselves: made, found, started, stopped and removed, with their volumes. */
export interface Nodes extends NodeExec {
  /**
   * Creates a node (and its volumes) and starts it. `filesBeforeBoot` are in
   * place before its systemd starts: units linked into a target's wants start
   * with the node, without a round trip per unit.
   */
  createNode(spec: NodeSpec, filesBeforeBoot?: readonly ArchiveEntry[]): Promise<void>;
  /** Nodes whose labels match (a label with value '' matches any value). */
  listNodes(labels: Record<string, string>): Promise<NodeSummary[]>;
  /**
   * The same, engine by engine (undefined: the engine kc runs on): an engine
   * that does not answer is named with why, and the others are still listed.
   */
  listNodesByEngine(labels: Record<string, string>): Promise<EngineNodes[]>;
  startNode(node: NodeRef): Promise<void>;
  stopNode(node: NodeRef, timeoutSeconds?: number): Promise<void>;
  /** Removes a node, running or not; absent is fine. */
  removeNode(node: NodeRef): Promise<void>;
  /** Volumes whose labels match, each with the engine it is on. */
  listVolumes(labels: Record<string, string>): Promise<ResourceRef[]>;
  /** Removes a volume on its engine; absent is fine. */
  removeVolume(volume: ResourceRef): Promise<void>;
  /** The engine's whole record of a node (for logs and diagnosis); undefined when absent. */
  inspectNode(node: NodeRef): Promise<object | undefined>;
  /** The host ports a node publishes, as its container was made (running or not); none when it is absent. */
  publishedPorts(node: NodeRef): Promise<PublishedPort[]>;
  /** What a node printed on its console. */
  nodeLogs(node: NodeRef): Promise<string>;
  memoryUsageBytes(node: NodeRef): Promise<number>;
}

/** Node and pod images: built, imported and kept on the engine kc runs on, shared with the others. */
export interface Images {
  /** An image's labels; undefined when the engine does not have it. */
  imageLabels(tag: string): Promise<Record<string, string> | undefined>;
  imageId(tag: string): Promise<string | undefined>;
  imageSize(tag: string): Promise<number>;
  /** Pulls an image; an error saying the registry's answer (no such image, no registry answering) when it cannot. */
  pullImage(tag: string): Promise<void>;
  /** Pulls an image; false (not an error) when no registry answers. */
  tryPull(tag: string): Promise<boolean>;
  /** Gives an image a second name (`repo:tag`). */
  tagImage(tag: string, as: string): Promise<void>;
  buildImage(
    context: Readable,
    options: { tag: string; buildArgs?: Record<string, string>; labels?: Record<string, string> },
    onOutput?: (line: string) => void,
  ): Promise<void>;
  /** Makes an image of a root filesystem tarball. */
  importImage(rootfs: Readable, tag: string): Promise<void>;
  /**
   * Gives an image a second name (`repo:tag`) and pushes it under that name to
   * the registry the name points at, logged in as `docker login` left it
   * (the `auths` of the Docker client's config.json), else anonymously.
   */
  pushImage(tag: string, as: string): Promise<void>;
  /** Loads an archive (docker save format), streamed as it comes. */
  loadImages(archive: Readable): Promise<void>;
  /**
   * Makes an image present on every engine that runs nodes (streamed from
   * the engine that has it; skipped where the same image ID is present).
   * Returns the engines it was copied to: none for one engine.
   */
  shareImage(tag: string): Promise<string[]>;
  /** One archive (docker save format) of these images, as a stream. */
  saveImages(tags: string[]): Promise<Readable>;
}

/**
 * Docker's swarm mode on one engine: only the multi-engine provider's swarm
 * coordinator uses it, to lay one overlay network across engines.
 */
export interface SwarmMembership {
  /** This engine's swarm membership. */
  swarmState(): Promise<SwarmState>;
  /** Makes this engine a swarm manager, reached by others at `advertiseAddress`, labelled as kc's. */
  initSwarm(advertiseAddress: string): Promise<void>;
  joinSwarm(join: SwarmJoin): Promise<void>;
  /** Takes this engine out of swarm mode (force: a last manager too). */
  leaveSwarm(force: boolean): Promise<void>;
  /** Managers only: the swarm's nodes and their labels. */
  swarmNodes(): Promise<SwarmNode[]>;
  /** Managers only: adds labels to a swarm node. */
  labelSwarmNode(nodeId: string, labels: Record<string, string>): Promise<void>;
}

/** The registry container kc runs beside its clusters, as kc wants it; how the engine runs it is the provider's business. */
export interface RegistrySpec {
  /** Container name; its data volume is `<name>-data`. */
  name: string;
  image: string;
  /** Published on the host, e.g. 127.0.0.1:5001 → 5000. */
  port: PublishedPort;
  labels: Record<string, string>;
}

/** A registry container now: whether it runs, and the networks it is on. */
export interface RegistryState {
  running: boolean;
  networks: string[];
}

/** A registry container kc made, as the engine lists it. */
export interface RegistrySummary extends RegistryState {
  name: string;
  /** The host port it serves (its LABEL_REGISTRY). */
  port: number;
}

/**
 * The registry container: one per host port, shared by the clusters whose
 * networks it is attached to. Always on the engine kc runs on, so it is no
 * part of Provider (a cluster's engines): commands take the local engine's.
 */
export interface Registries {
  /** undefined when there is no such container. */
  registryState(name: string): Promise<RegistryState | undefined>;
  /** Every registry container kc made (labelled LABEL_REGISTRY), running or not. */
  listRegistries(): Promise<RegistrySummary[]>;
  /** Creates it (with its data volume) and starts it; it restarts with the engine. */
  createRegistry(spec: RegistrySpec): Promise<void>;
  startRegistry(name: string): Promise<void>;
  /** Attaches it to a cluster network at a fixed address; already attached is fine. */
  attachRegistry(name: string, network: string, ip: string): Promise<void>;
  /** Detaches it from a network; not attached is fine. */
  detachRegistry(name: string, network: string): Promise<void>;
  /** Removes the container; its data volume stays for the next registry of that port. Absent is fine. */
  removeRegistry(name: string): Promise<void>;
  /** The data volumes of registries (labelled LABEL_REGISTRY), with a container or without one. */
  listRegistryData(): Promise<RegistryData[]>;
  /** Removes a registry's data volume (its images); absent is fine. The container must be gone. */
  removeRegistryData(name: string): Promise<void>;
}

/** A registry's images: the volume they are on, and how much of the disk they take. */
export interface RegistryData {
  /** The registry's name (its container's, when it has one): the volume is `<name>-data`. */
  name: string;
  port: number;
  volume: string;
  /** What the engine reports the volume uses; undefined when it does not say. */
  sizeBytes: number | undefined;
}

/**
 * Everything kc asks of the engines of one cluster. Callers take the role
 * they need (a wait takes NodeExec, delete takes Nodes and Networks), so a
 * test's stand-in and the reader both see what a piece of code can do.
 */
export interface Provider extends EngineInfo, Networks, Nodes, Images {}

/**
 * Engines that must be joined before one cluster network can span them (a
 * swarm), and released after: create and delete call it explicitly, around
 * the network.
 */
export interface EngineSpan {
  /** Before the cluster network is created: every engine in one swarm. */
  join(): Promise<void>;
  /** After cluster networks were removed (or none was made): the engines kc joined leave once no network spans them. */
  release(removedNetworks?: readonly string[]): Promise<void>;
}

/** An engine kc runs nodes on directly (Docker, the fake): a provider that can also take part in a swarm, and run the registry. */
export interface SingleEngine extends Provider, SwarmMembership, Registries {}

/**
 * exec, but a non-zero exit is an error carrying the command's last output
 * lines. The node is what the engine takes: a NodeRef, or for a single
 * engine its bare name.
 */
export async function execOrThrow<E extends NodeExec>(engine: E, node: Parameters<E['exec']>[0], command: string[], input?: string | Readable): Promise<string> {
  // A single engine's exec takes a bare name too; E's own parameter type says which this one takes.
  const result = await (engine as unknown as { exec(node: OnOneEngine, command: string[], input?: string | Readable): Promise<ExecResult> }).exec(node, command, input);
  if (result.exitCode !== 0) {
    const output = `${result.stdout}${result.stderr}`.trimEnd().split('\n').slice(-20).join('\n');
    throw new Error(`on ${nameOf(node)}, \`${command.join(' ')}\` exited with ${result.exitCode}:\n${output}`);
  }
  return result.stdout;
}
