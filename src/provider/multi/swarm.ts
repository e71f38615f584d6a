import {
  EngineUnavailableError,
  LABEL_SPANS_ENGINES,
  LABEL_SWARM_BY_KC,
  type EngineSpan,
  type SingleEngine,
  type SwarmJoin,
  type SwarmState,
} from '../provider.js';

/** A Docker engine other than the one kc runs on, as the cluster's config names it. */
export interface RemoteEngine {
  name: string;
  /** What the user wrote (`tcp://10.0.0.2:2375`), for messages. */
  host: string;
  provider: SingleEngine;
  /** The address the other engines reach it at (swarm advertise/data-path address); undefined: Docker picks. */
  advertiseAddress: string | undefined;
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

/**
 * One overlay network across engines needs them in one Docker swarm, managed
 * from the engine kc runs on. The coordinator checks the engines can take
 * part, joins them before create makes the cluster network (kc starts a swarm
 * when there is none, or uses the one the engines are in), and after delete
 * removed it takes the engines kc joined out again once no network spans
 * engines any more. Create and delete call it explicitly; nothing else does.
 */
export class SwarmCoordinator implements EngineSpan {
  constructor(
    private readonly local: SingleEngine,
    private readonly remotes: readonly RemoteEngine[],
    /** The address the remote engines reach the local one at, when it must start a swarm. */
    private readonly localAddress: () => Promise<string>,
  ) {}

  /**
   * Every engine answers, runs the local engine's Docker version (major.minor)
   * and has swarm mode; a remote engine already in a swarm must be in the
   * local engine's. The local engine's version is the answer.
   */
  async check(): Promise<string> {
    const version = await this.local.ensureReachable();
    const localSwarm = await this.swarmOf(this.local, 'the engine kc runs on');
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
      const swarm = await this.swarmOf(remote.provider, `engine "${remote.name}" (${remote.host})`);
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

  private async swarmOf(engine: SingleEngine, label: string): Promise<SwarmState> {
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

  /** The local engine manages a swarm (kc's, when it had none) and every remote engine is in it, labelled when kc joined it. */
  async join(): Promise<void> {
    let manager = await this.local.swarmState();
    if (manager.state !== 'active') {
      await this.local.initSwarm(await this.localAddress());
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
  async release(removedNetworks: readonly string[] = []): Promise<void> {
    const manager = await this.local.swarmState();
    if (!manager.manager) return;
    // The manager may still list a network it has just removed.
    const left = await this.local.listNetworks({ [LABEL_SPANS_ENGINES]: '' });
    if (left.some((n) => !removedNetworks.includes(n.id) && !removedNetworks.includes(n.name))) return;
    const nodes = await this.local.swarmNodes();
    const joinedByKc = new Set(nodes.filter((n) => n.labels[LABEL_SWARM_BY_KC] !== undefined).map((n) => n.id));
    const gone = new Set<string>();
    for (const remote of this.remotes) {
      const swarm = await remote.provider.swarmState();
      if (swarm.state !== 'active' || !joinedByKc.has(swarm.nodeId)) continue;
      await remote.provider.leaveSwarm(false);
      gone.add(swarm.nodeId);
      // The bridge swarm mode gave it: nothing else uses it once the engine left.
      await remote.provider.removeNetwork({ name: 'docker_gwbridge' }).catch(() => undefined);
    }
    const others = nodes.filter((n) => n.id !== manager.nodeId && !gone.has(n.id) && n.state !== 'down');
    if (!manager.createdByKc || others.length > 0) return;
    await this.local.leaveSwarm(true);
    await this.local.removeNetwork({ name: 'docker_gwbridge' }).catch(() => undefined);
  }
}
