import Docker from 'dockerode';
import { existsSync } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import {
  EngineUnavailableError,
  LABEL_CLUSTER,
  LABEL_REGISTRY,
  LABEL_ROLE,
  LABEL_SPANS_ENGINES,
  LABEL_SWARM_BY_KC,
  SubnetTakenError,
  type SwarmJoin,
  type SwarmNode,
  type SwarmState,
  type ArchiveEntry,
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
} from '../provider.js';
import { apiOlderThan, EngineTooOldError, MIN_API_VERSION, type EngineRef } from '../engine-failure.js';
import { firstFileOf, packFiles } from './archive.js';
import { registryLogin } from './registry-auth.js';
import { engineProblem, hostHasApparmorParser, type EngineFacts } from './preflight.js';
import { splitImageReference } from '../../util/image-ref.js';
import { messageOf } from '../../util/errors.js';
import { localDockerClient, localEngineHost, reportingEngineFailures } from './connect.js';

/** How Docker runs one node: everything about a node container decided in one place. */
interface ContainerSpec {
  name: string;
  hostname: string;
  image: string;
  labels: Record<string, string>;
  network: string;
  ip: string | undefined;
  /** Named volumes: volume name → mount path. */
  volumes: Record<string, string>;
  /** Bind mounts, `host:container[:ro]`. */
  binds: string[];
  tmpfs: Record<string, string>;
  /** Container port (e.g. `6443/tcp`) → host address and port (port 0: any free port). */
  ports: Record<string, { hostIp: string; hostPort: number }>;
  /** The OCI runtime dockerd should use; undefined for its default. */
  runtime: string | undefined;
  /** Hosts file entries, `name:address`. */
  extraHosts: string[];
  /** The node's CPU weight against other containers when the CPUs are busy (Docker's default is 1024). */
  cpuShares: number;
}

/**
 * Masters weigh twice as much as other nodes when the CPUs are all busy (as
 * while a cluster starts: every node boots, workers unpack images, two API
 * servers start): the control plane everything else waits for comes first.
 * An idle machine gives every node all it asks for either way.
 */
const MASTER_CPU_SHARES = 2048;
const DEFAULT_CPU_SHARES = 1024;

/**
 * The runtime `scripts/setup-host.sh` registers with dockerd on hosts whose
 * capability bounding set lacks capabilities a privileged container asks for:
 * kc asks for it per node, and never makes it the engine's default.
 */
export const CAPFILTER_RUNTIME = 'kc-runc';

/**
 * The Docker provider: the only code that talks to Docker (through
 * dockerode), so the rest of kc reads as plain steps.
 */
export class DockerEngine implements SingleEngine {
  private readonly client: Docker;
  private readonly engine: EngineRef;
  /** The runtime nodes run with, looked up once per engine. */
  private nodeRuntime: Promise<string | undefined> | undefined;

  /**
   * @param client the engine's client; the local engine (DOCKER_HOST or its socket) when left out
   * @param engine who the engine is in messages: its name in the config's engines list, and its address
   */
  constructor(client: Docker = localDockerClient(), engine: EngineRef = { host: localEngineHost() }) {
    this.engine = engine;
    this.client = reportingEngineFailures(client, engine);
  }

  /** The engine's Docker version, once it answered and is recent enough; EngineUnavailableError otherwise. */
  async ensureReachable(): Promise<string> {
    let version: Docker.DockerVersion;
    try {
      version = await this.client.version();
    } catch (error) {
      throw error instanceof EngineUnavailableError ? error : new EngineUnavailableError(this.engine, error);
    }
    // An engine that does not say its API version (not Docker's own) is given the benefit of the doubt.
    const apiVersion: string | undefined = version.ApiVersion;
    if (apiVersion !== undefined && apiOlderThan(apiVersion, MIN_API_VERSION)) {
      throw new EngineUnavailableError(this.engine, new EngineTooOldError(version.Version, apiVersion));
    }
    const problem = engineProblem(await this.facts(version));
    if (problem) throw new Error(problem);
    return version.Version;
  }

  /** What the preflight checks: the engine's architecture, and on this host its AppArmor set-up. */
  private async facts(version: Docker.DockerVersion): Promise<EngineFacts> {
    if (!this.engine.host.startsWith('unix://')) return { arch: version.Arch, securityOptions: undefined, apparmorParser: undefined };
    const info = (await this.client.info()) as { SecurityOptions?: string[] };
    return { arch: version.Arch, securityOptions: info.SecurityOptions ?? [], apparmorParser: hostHasApparmorParser() };
  }

  // --- images -----------------------------------------------------------------

  async imageLabels(tag: string): Promise<Record<string, string> | undefined> {
    try {
      const info = await this.client.getImage(tag).inspect();
      return info.Config?.Labels ?? {};
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** The image's ID (its content digest), or undefined when absent. */
  async imageId(tag: string): Promise<string | undefined> {
    try {
      return (await this.client.getImage(tag).inspect()).Id;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async imageSize(tag: string): Promise<number> {
    return (await this.client.getImage(tag).inspect()).Size;
  }

  async pullImage(tag: string): Promise<void> {
    try {
      await this.followProgress(await this.client.pull(tag));
    } catch (error) {
      // The engine's own words say why: "not found", "no such host", "connection refused", "unauthorized".
      throw new Error(`cannot pull ${tag}: ${messageOf(error).replace(/^\(HTTP code \d+\)[^-]*- /, '')}`, { cause: error });
    }
  }

  /** Pulls an image; resolves false (rather than throwing) when no registry answers. */
  async tryPull(tag: string): Promise<boolean> {
    return this.pullImage(tag).then(
      () => true,
      () => false,
    );
  }

  async tagImage(tag: string, as: string): Promise<void> {
    const { repository, tag: version } = splitImageReference(as);
    await this.client.getImage(tag).tag({ repo: repository, tag: version ?? 'latest' });
  }

  async pushImage(tag: string, as: string): Promise<void> {
    await this.tagImage(tag, as);
    // The engine wants an X-Registry-Auth header even for a registry without authentication: an empty one.
    const auth = await registryLogin(splitImageReference(as).repository);
    await this.followProgress(await this.client.getImage(as).push({ authconfig: auth ?? {} }));
  }

  /** Builds an image from a tar build context; the build output goes to onOutput line by line. */
  async buildImage(
    context: Readable,
    options: { tag: string; buildArgs?: Record<string, string>; labels?: Record<string, string> },
    onOutput: (line: string) => void = () => undefined,
  ): Promise<void> {
    const stream = await this.client.buildImage(context, {
      t: options.tag,
      buildargs: options.buildArgs ?? {},
      labels: options.labels ?? {},
      rm: true,
      forcerm: true,
    });
    await this.followProgress(stream, (event) => {
      if (typeof event.stream === 'string') {
        for (const line of event.stream.split('\n')) if (line.trim()) onOutput(line);
      }
    });
  }

  /** Imports a root filesystem tarball as an image (a base made from Debian packages). */
  async importImage(rootfs: Readable, tag: string): Promise<void> {
    const { repository, tag: imageTag } = splitImageReference(tag);
    const stream = await this.client.importImage(rootfs, { repo: repository, tag: imageTag ?? 'latest' });
    await this.followProgress(stream);
  }

  /** `docker load` of an archive, streamed through as it comes. */
  async loadImages(archive: Readable): Promise<void> {
    const stream = await this.client.loadImage(archive, { quiet: true });
    await this.followProgress(stream);
  }

  /** One engine: the image is here or nowhere. */
  async shareImage(): Promise<string[]> {
    return [];
  }

  /** `docker save` of several images in one archive: layers they share are in it once. */
  async saveImages(tags: string[]): Promise<Readable> {
    // dockerode has the call (GET /images/get?names=a&names=b) but its typings do not.
    const client = this.client as unknown as { getImages(options: { names: string[] }): Promise<Readable> };
    return client.getImages({ names: tags });
  }

  private followProgress(stream: NodeJS.ReadableStream, onEvent?: (event: ProgressEvent) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.modem.followProgress(
        stream,
        (error: Error | null, events: ProgressEvent[]) => {
          if (error) return reject(error);
          const failed = events.find((e) => e.error || e.errorDetail);
          if (failed) return reject(new Error(failed.error ?? failed.errorDetail?.message ?? 'docker reported an error'));
          resolve();
        },
        (event: ProgressEvent) => onEvent?.(event),
      );
    });
  }

  // --- networks -----------------------------------------------------------------

  /**
   * Creates a bridge network, or for a cluster that spans engines an
   * attachable swarm overlay (containers on every engine of the swarm join it
   * with fixed addresses); throws SubnetTakenError when another network got
   * the subnet first.
   */
  async createNetwork(spec: NetworkSpec): Promise<void> {
    const driver: Pick<Docker.NetworkCreateOptions, 'Driver' | 'Attachable' | 'Labels' | 'Options'> = spec.spansEngines
      ? { Driver: 'overlay', Attachable: true, Labels: { [LABEL_CLUSTER]: spec.cluster, [LABEL_SPANS_ENGINES]: 'true' } }
      : { Driver: 'bridge', Labels: { [LABEL_CLUSTER]: spec.cluster }, Options: { 'com.docker.network.bridge.enable_ip_masquerade': 'true' } };
    try {
      await this.client.createNetwork({
        Name: spec.name,
        CheckDuplicate: true,
        IPAM: { Driver: 'default', Config: [{ Subnet: spec.subnet, Gateway: spec.gateway, ...(spec.engineRange ? { IPRange: spec.engineRange } : {}) }] },
        ...driver,
      });
    } catch (error) {
      if (/overlaps/i.test((error as Error).message)) throw new SubnetTakenError(spec.subnet);
      throw error;
    }
  }

  // --- swarm ----------------------------------------------------------------------

  async swarmState(): Promise<SwarmState> {
    const info = (await this.client.info()) as { Swarm?: { LocalNodeState?: string; NodeID?: string; NodeAddr?: string; ControlAvailable?: boolean } };
    const swarm = info.Swarm;
    if (!swarm?.LocalNodeState) throw new Error('the engine reports no swarm mode support');
    const state: SwarmState = {
      state: swarm.LocalNodeState,
      nodeId: swarm.NodeID ?? '',
      manager: swarm.ControlAvailable === true,
      nodeAddress: swarm.NodeAddr ?? '',
    };
    if (!state.manager) return state;
    const inspect = (await this.client.swarmInspect()) as { JoinTokens?: { Worker?: string }; Spec?: { Labels?: Record<string, string> } };
    return { ...state, workerJoinToken: inspect.JoinTokens?.Worker ?? '', createdByKc: inspect.Spec?.Labels?.[LABEL_SWARM_BY_KC] !== undefined };
  }

  async initSwarm(advertiseAddress: string): Promise<void> {
    await this.client.swarmInit({
      ListenAddr: `${advertiseAddress}:2377`,
      AdvertiseAddr: advertiseAddress,
      DataPathAddr: advertiseAddress,
      Spec: { Labels: { [LABEL_SWARM_BY_KC]: 'initialised' } },
    });
  }

  async joinSwarm(join: SwarmJoin): Promise<void> {
    await this.client.swarmJoin({
      ListenAddr: '0.0.0.0:2377',
      ...(join.advertiseAddress ? { AdvertiseAddr: join.advertiseAddress, DataPathAddr: join.advertiseAddress } : {}),
      RemoteAddrs: [join.manager],
      JoinToken: join.token,
    });
  }

  async leaveSwarm(force: boolean): Promise<void> {
    try {
      await this.client.swarmLeave({ force });
    } catch (error) {
      // 503: not in a swarm (any more): what leaving wants.
      if (statusCode(error) !== 503) throw error;
    }
  }

  async swarmNodes(): Promise<SwarmNode[]> {
    const nodes = (await this.client.listNodes()) as { ID: string; Status?: { State?: string }; Spec?: { Labels?: Record<string, string> } }[];
    return nodes.map((n) => ({ id: n.ID, state: n.Status?.State ?? 'unknown', labels: n.Spec?.Labels ?? {} }));
  }

  async labelSwarmNode(nodeId: string, labels: Record<string, string>): Promise<void> {
    const node = this.client.getNode(nodeId);
    const current = (await node.inspect()) as { Version: { Index: number }; Spec: { Labels?: Record<string, string> } & Record<string, unknown> };
    const spec = { ...current.Spec, Labels: { ...(current.Spec.Labels ?? {}), ...labels } };
    await node.update({ _query: { version: current.Version.Index }, _body: spec } as unknown as object);
  }

  /** Every IPv4 subnet any Docker network uses: new clusters must not overlap them. */
  async usedSubnets(): Promise<string[]> {
    const networks = await this.client.listNetworks();
    return networks.flatMap((n) => (n.IPAM?.Config ?? []).map((c) => c.Subnet ?? '')).filter((s) => s.includes('.'));
  }

  async listNetworks(labels: Record<string, string>): Promise<NetworkSummary[]> {
    const networks = await this.client.listNetworks({ filters: { label: labelFilters(labels) } });
    return networks.map((n) => ({ id: n.Id, name: n.Name, labels: n.Labels ?? {} }));
  }

  async removeNetwork(ref: OnOneEngine): Promise<void> {
    const idOrName = nameOf(ref);
    try {
      await this.client.getNetwork(idOrName).remove();
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  // --- volumes --------------------------------------------------------------------

  async listVolumes(labels: Record<string, string>): Promise<ResourceRef[]> {
    const result = await this.client.listVolumes({ filters: { label: labelFilters(labels) } });
    return (result.Volumes ?? []).map((v) => ({ name: v.Name }));
  }

  async removeVolume(ref: OnOneEngine): Promise<void> {
    const name = nameOf(ref);
    try {
      await this.client.getVolume(name).remove({ force: true });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  // --- the registry ------------------------------------------------------------------

  async registryState(name: string): Promise<RegistryState | undefined> {
    try {
      const info = await this.client.getContainer(name).inspect();
      return { running: info.State.Running, networks: Object.keys(info.NetworkSettings.Networks ?? {}) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async listRegistries(): Promise<RegistrySummary[]> {
    const containers = await this.client.listContainers({ all: true, filters: { label: [LABEL_REGISTRY] } });
    return containers.map((c) => ({
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      port: Number(c.Labels[LABEL_REGISTRY]),
      running: c.State === 'running',
      networks: Object.keys(c.NetworkSettings?.Networks ?? {}),
    }));
  }

  /**
   * The registry: an ordinary container (not privileged, no systemd), its
   * data on a volume of its own, published on the host, and restarted with
   * the engine so that clusters find it after a reboot as after kc start.
   */
  async createRegistry(spec: RegistrySpec): Promise<void> {
    const volume = `${spec.name}-data`;
    await this.client.createVolume({ Name: volume, Labels: spec.labels });
    const port = `${spec.port.containerPort}/${spec.port.protocol}`;
    await this.client.createContainer({
      name: spec.name,
      Image: spec.image,
      Labels: spec.labels,
      ExposedPorts: { [port]: {} },
      HostConfig: {
        Binds: [`${volume}:/var/lib/registry`],
        PortBindings: { [port]: [{ HostIp: spec.port.hostIp, HostPort: String(spec.port.hostPort) }] },
        RestartPolicy: { Name: 'unless-stopped' },
      },
    });
    await this.startRegistry(spec.name);
  }

  async startRegistry(name: string): Promise<void> {
    try {
      await this.client.getContainer(name).start();
    } catch (error) {
      if (!isNotModified(error)) throw error;
    }
  }

  async attachRegistry(name: string, network: string, ip: string): Promise<void> {
    const state = await this.registryState(name);
    if (state?.networks.includes(network)) return;
    await this.client.getNetwork(network).connect({ Container: name, EndpointConfig: { IPAMConfig: { IPv4Address: ip } } });
  }

  async detachRegistry(name: string, network: string): Promise<void> {
    const state = await this.registryState(name);
    if (!state?.networks.includes(network)) return;
    await this.client.getNetwork(network).disconnect({ Container: name, Force: true });
  }

  async removeRegistry(name: string): Promise<void> {
    try {
      // Not `v: true`: the named data volume outlives the container.
      await this.client.getContainer(name).remove({ force: true });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async listRegistryData(): Promise<RegistryData[]> {
    const volumes = (await this.client.listVolumes({ filters: { label: [LABEL_REGISTRY] } })).Volumes ?? [];
    if (volumes.length === 0) return [];
    // The engine reckons volume sizes only in its disk-usage report (docker system df).
    const usage = (await this.client.df()) as { Volumes?: { Name: string; UsageData?: { Size?: number } }[] };
    const sizes = new Map((usage.Volumes ?? []).map((v) => [v.Name, v.UsageData?.Size]));
    return volumes.map((v) => {
      const size = sizes.get(v.Name);
      return {
        name: v.Name.replace(/-data$/, ''),
        port: Number(v.Labels?.[LABEL_REGISTRY]),
        volume: v.Name,
        sizeBytes: size !== undefined && size >= 0 ? size : undefined,
      };
    });
  }

  async removeRegistryData(name: string): Promise<void> {
    await this.removeVolume(`${name}-data`);
  }

  // --- containers -------------------------------------------------------------------

  /**
   * A node: its volumes, then its container, started. Every setting of a node
   * container is made here or in nodeContainer().
   */
  async createNode(node: NodeSpec, filesBeforeBoot: readonly ArchiveEntry[] = []): Promise<void> {
    const spec = nodeContainer(node, await this.runtimeForNodes());
    for (const volume of Object.keys(spec.volumes)) {
      await this.client.createVolume({ Name: volume, Labels: { [LABEL_CLUSTER]: node.cluster } });
    }
    await this.createContainer(spec);
    // The archive API writes into a created container's file system as into a running one's.
    await this.copyFiles(node.name, filesBeforeBoot);
    await this.startNode(node.name);
  }

  /**
   * kc's capability-filtering runtime where dockerd has it registered (setup-host
   * registers it only on hosts that need it), else the engine's default.
   */
  private runtimeForNodes(): Promise<string | undefined> {
    this.nodeRuntime ??= this.client.info().then((info: { Runtimes?: Record<string, unknown> }) =>
      info.Runtimes && CAPFILTER_RUNTIME in info.Runtimes ? CAPFILTER_RUNTIME : undefined,
    );
    return this.nodeRuntime;
  }

  private async createContainer(spec: ContainerSpec): Promise<string> {
    const portBindings: Docker.PortMap = {};
    const exposed: Record<string, object> = {};
    for (const [port, binding] of Object.entries(spec.ports)) {
      exposed[port] = {};
      portBindings[port] = [{ HostIp: binding.hostIp, HostPort: binding.hostPort === 0 ? '' : String(binding.hostPort) }];
    }
    const hostConfig: Docker.HostConfig & { CgroupnsMode: 'private' | 'host' } = {
      Privileged: true,
      ...(spec.runtime ? { Runtime: spec.runtime } : {}),
      // A private cgroup namespace makes the node's cgroup look like a root
      // to systemd inside, on cgroup v1 and v2 hosts alike.
      CgroupnsMode: 'private',
      // systemd must be PID 1, whatever the engine's daemon.json says ("init": true puts docker-init there); kind does the same.
      Init: false,
      SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
      Tmpfs: spec.tmpfs,
      Binds: [...Object.entries(spec.volumes).map(([volume, path]) => `${volume}:${path}`), ...spec.binds],
      PortBindings: portBindings,
      RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 1 },
      NetworkMode: spec.network,
      ExtraHosts: spec.extraHosts,
      CpuShares: spec.cpuShares,
    };
    const container: Docker.Container = await this.client.createContainer({
      name: spec.name,
      Hostname: spec.hostname,
      Image: spec.image,
      Labels: spec.labels,
      Tty: true, // systemd writes its status to the console; kind does the same
      ExposedPorts: exposed,
      HostConfig: hostConfig,
      NetworkingConfig: {
        EndpointsConfig: {
          [spec.network]: spec.ip ? { IPAMConfig: { IPv4Address: spec.ip } } : {},
        },
      },
    });
    return container.id;
  }

  async startNode(ref: OnOneEngine): Promise<void> {
    const idOrName = nameOf(ref);
    await this.client.getContainer(idOrName).start();
  }

  async stopNode(ref: OnOneEngine, timeoutSeconds = 10): Promise<void> {
    const idOrName = nameOf(ref);
    try {
      await this.client.getContainer(idOrName).stop({ t: timeoutSeconds });
    } catch (error) {
      if (!isNotFound(error) && !isNotModified(error)) throw error;
    }
  }

  async removeNode(ref: OnOneEngine): Promise<void> {
    const idOrName = nameOf(ref);
    try {
      await this.client.getContainer(idOrName).remove({ force: true, v: true });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async listNodes(labels: Record<string, string>): Promise<NodeSummary[]> {
    const containers = await this.client.listContainers({ all: true, filters: { label: labelFilters(labels) } });
    return containers.map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      state: c.State,
      labels: c.Labels ?? {},
    }));
  }

  async listNodesByEngine(labels: Record<string, string>): Promise<EngineNodes[]> {
    try {
      return [{ engine: this.engine.name, nodes: await this.listNodes(labels) }];
    } catch (error) {
      return [{ engine: this.engine.name, unreachable: (error as Error).message }];
    }
  }

  async inspectNode(ref: OnOneEngine): Promise<Docker.ContainerInspectInfo | undefined> {
    const idOrName = nameOf(ref);
    try {
      return await this.client.getContainer(idOrName).inspect();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** The host ports a node publishes, as its container was made (a stopped one's too); none when it is absent. */
  async publishedPorts(ref: OnOneEngine): Promise<PublishedPort[]> {
    const idOrName = nameOf(ref);
    return publishedPortsOf((await this.inspectNode(idOrName))?.HostConfig.PortBindings as PortBindings | undefined);
  }

  /**
   * Runs a command in a new short-lived container of `image` (entrypoint
   * replaced, no network: its own empty network namespace) and removes it,
   * whatever happens: nothing of it outlives the call.
   */
  async runOnce(image: string, command: string[], options: { privileged?: boolean; labels?: Record<string, string> } = {}): Promise<ExecResult> {
    const runtime = await this.runtimeForNodes();
    const container = await this.client.createContainer({
      Image: image,
      Entrypoint: [command[0] ?? 'true'],
      Cmd: command.slice(1),
      Labels: options.labels ?? {},
      Tty: false,
      // The nodes' runtime: a privileged container needs it where the host cannot grant every capability.
      HostConfig: { Privileged: options.privileged ?? false, NetworkMode: 'none', ...(runtime ? { Runtime: runtime } : {}) },
    });
    try {
      await container.start();
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      const logs = await container.logs({ stdout: true, stderr: false, follow: false });
      const errors = await container.logs({ stdout: false, stderr: true, follow: false });
      const text = (raw: unknown): string => demuxBuffer(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw))).toString('utf8');
      return { exitCode: StatusCode, stdout: text(logs), stderr: text(errors) };
    } finally {
      await this.removeNode(container.id);
    }
  }

  /**
   * Runs a command in a container and collects its output. `input` becomes
   * its stdin: text, or a stream piped through as it comes (an image archive
   * is never held in memory).
   */
  async exec(ref: OnOneEngine, command: string[], input?: string | Readable): Promise<ExecResult> {
    const idOrName = nameOf(ref);
    const exec = await this.client.getContainer(idOrName).exec({
      Cmd: command,
      AttachStdout: true,
      AttachStderr: true,
      AttachStdin: input !== undefined,
      Tty: false,
    });
    const stream = await exec.start({ hijack: true, stdin: input !== undefined });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    stdout.on('data', (c: Buffer) => out.push(c));
    stderr.on('data', (c: Buffer) => err.push(c));
    this.client.modem.demuxStream(stream, stdout, stderr);
    const finished = new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', reject);
    });
    if (typeof input === 'string') stream.end(input);
    else if (input !== undefined) {
      // Ends the write side when the input ends: the command sees EOF, its output still arrives.
      input.on('error', (error) => stream.destroy(error));
      input.pipe(stream);
    }
    await finished;
    const info = await exec.inspect();
    return {
      exitCode: info.ExitCode ?? -1,
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
    };
  }

  /** Puts files into a node as one tar archive, through Docker's archive API. */
  async copyFiles(ref: OnOneEngine, files: readonly ArchiveEntry[]): Promise<void> {
    const node = nameOf(ref);
    if (files.length === 0) return;
    await this.client.getContainer(node).putArchive(await packFiles(files), { path: '/' });
  }

  async readFile(ref: OnOneEngine, path: string): Promise<Buffer> {
    const node = nameOf(ref);
    const archive = (await this.client.getContainer(node).getArchive({ path })) as Readable;
    return firstFileOf(archive, `${node}:${path}`);
  }

  async readFolder(ref: OnOneEngine, path: string): Promise<Readable> {
    return (await this.client.getContainer(nameOf(ref)).getArchive({ path })) as Readable;
  }

  // --- diagnostics (kc export logs) ------------------------------------------------

  /** What `docker version` reports about the engine (server side). */
  async engineVersion(): Promise<Docker.DockerVersion> {
    return this.client.version();
  }

  /** What `docker info` reports about the engine. */
  async engineInfo(): Promise<Record<string, unknown>> {
    return (await this.client.info()) as Record<string, unknown>;
  }

  /**
   * Memory a container uses, as `docker stats` reports it: usage minus the
   * page cache the kernel can drop (cgroup v1 and v2 name that differently).
   */
  async memoryUsageBytes(ref: OnOneEngine): Promise<number> {
    const idOrName = nameOf(ref);
    const stats = (await this.client.getContainer(idOrName).stats({ stream: false })) as {
      memory_stats?: { usage?: number; stats?: { total_inactive_file?: number; inactive_file?: number } };
    };
    const memory = stats.memory_stats ?? {};
    const inactive = memory.stats?.total_inactive_file ?? memory.stats?.inactive_file ?? 0;
    return Math.max(0, (memory.usage ?? 0) - inactive);
  }

  /**
   * A container's own output (`docker logs --timestamps`): for a node, what
   * the entrypoint and systemd wrote to the console. Works on stopped
   * containers too.
   */
  async nodeLogs(ref: OnOneEngine): Promise<string> {
    const idOrName = nameOf(ref);
    const container = this.client.getContainer(idOrName);
    const info = await container.inspect();
    const raw = await container.logs({ stdout: true, stderr: true, timestamps: true, follow: false });
    const buffer = Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw));
    return (info.Config.Tty ? buffer : demuxBuffer(buffer)).toString('utf8');
  }
}

/**
 * Joins the payloads of Docker's multiplexed stream format (8-byte header:
 * stream type, 3 zero bytes, big-endian payload length), as `docker logs` of
 * a container without a TTY returns it.
 */
export function demuxBuffer(buffer: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const type = buffer[offset];
    if (type === undefined || type > 2 || buffer[offset + 1] !== 0 || buffer[offset + 2] !== 0 || buffer[offset + 3] !== 0) {
      // Not framed after all: keep the rest as it is.
      parts.push(buffer.subarray(offset));
      return Buffer.concat(parts);
    }
    const length = buffer.readUInt32BE(offset + 4);
    parts.push(buffer.subarray(offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
  if (offset < buffer.length) parts.push(buffer.subarray(offset));
  return Buffer.concat(parts);
}

interface ProgressEvent {
  stream?: string;
  error?: string;
  errorDetail?: { message?: string };
}

function labelFilters(labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([k, v]) => (v === '' ? k : `${k}=${v}`));
}

function statusCode(error: unknown): number | undefined {
  return (error as { statusCode?: number } | undefined)?.statusCode;
}

type PortBindings = Record<string, Array<{ HostIp?: string; HostPort?: string }> | null>;

/** Pure: a container's port bindings (`"30080/tcp": [{HostIp, HostPort}]`) in kc's words; an unpinned port is 0. */
export function publishedPortsOf(bindings: PortBindings | undefined): PublishedPort[] {
  return Object.entries(bindings ?? {}).flatMap(([key, hosts]) => {
    const [port = '', protocol = 'tcp'] = key.split('/');
    return (hosts ?? []).map((host) => ({
      containerPort: Number(port),
      protocol: protocol as PublishedPort['protocol'],
      hostIp: host.HostIp ?? '',
      hostPort: Number(host.HostPort || 0),
    }));
  });
}

export function isNotFound(error: unknown): boolean {
  return statusCode(error) === 404;
}

function isNotModified(error: unknown): boolean {
  return statusCode(error) === 304;
}

/**
 * The container of a node: privileged, systemd as PID 1 in a private cgroup
 * namespace, /run and /tmp on tmpfs, the host's kernel modules readable, and
 * restarted once if it dies (a node brings its own units back).
 */
export function nodeContainer(node: NodeSpec, runtime: string | undefined, hostHasModules = existsSync('/lib/modules')): ContainerSpec {
  const ports: ContainerSpec['ports'] = {};
  for (const port of node.ports) ports[`${port.containerPort}/${port.protocol}`] = { hostIp: port.hostIp, hostPort: port.hostPort };
  return {
    name: node.name,
    hostname: node.name,
    image: node.image,
    labels: { [LABEL_CLUSTER]: node.cluster, [LABEL_ROLE]: node.role },
    network: node.network,
    ip: node.ip,
    volumes: Object.fromEntries(node.volumes.map((v) => [v.name, v.path])),
    binds: [
      // Kernel modules the host has loaded stay usable (kube-proxy and Weave probe them).
      ...(hostHasModules ? ['/lib/modules:/lib/modules:ro'] : []),
      ...node.mounts.map((m) => `${m.hostPath}:${m.containerPath}${m.readOnly ? ':ro' : ''}`),
    ],
    tmpfs: { '/run': 'rw,nosuid,nodev,mode=755', '/tmp': 'rw,nosuid,nodev' },
    ports,
    runtime,
    extraHosts: node.peers.map((peer) => `${peer.name}:${peer.ip}`),
    cpuShares: node.role === 'master' ? MASTER_CPU_SHARES : DEFAULT_CPU_SHARES,
  };
}
