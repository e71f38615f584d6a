import Docker from 'dockerode';
import { existsSync } from 'node:fs';
import { Agent, type ClientRequestArgs } from 'node:http';
import { connect, type NetConnectOpts } from 'node:net';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { EngineRef } from '../engine-failure.js';
import { EngineUnavailableError } from '../provider.js';
import { SshDialAgent } from './ssh-agent.js';

/** An engine address as DOCKER_HOST spells it, read. Hosts are as sockets take them (an IPv6 address without brackets). */
export type EngineEndpoint =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'ssh'; host: string; port: number; username: string }
  | { kind: 'unix'; path: string };

const DEFAULT_PORT = { tcp: 2375, ssh: 22 };

/**
 * How long kc waits for a tcp:// engine to accept a connection. The kernel
 * gives up on an address that never answers after about two minutes; an
 * engine on the same network answers in milliseconds.
 */
export const CONNECT_TIMEOUT_MS = 10_000;

/** `[::1]` → `::1`: URL keeps the brackets, sockets and ssh want the address. */
function unbracketed(hostname: string): string {
  return hostname.replace(/^\[(.*)\]$/, '$1');
}

/** `::1` → `[::1]`: docker-modem writes the host into a URL. */
function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Reads `tcp://HOST:PORT` (plain HTTP, as on a private network),
 * `ssh://[USER@]HOST[:PORT]` (the engine's socket through ssh; USER defaults
 * to the local user, as with ssh), `unix:///PATH`.
 */
export function parseEngineAddress(host: string): EngineEndpoint {
  const url = new URL(host);
  if (url.protocol === 'unix:') return { kind: 'unix', path: url.pathname };
  if (url.protocol === 'tcp:') return { kind: 'tcp', host: unbracketed(url.hostname), port: Number(url.port || DEFAULT_PORT.tcp) };
  if (url.protocol === 'ssh:') {
    return {
      kind: 'ssh',
      host: unbracketed(url.hostname),
      port: Number(url.port || DEFAULT_PORT.ssh),
      username: decodeURIComponent(url.username) || userInfo().username,
    };
  }
  throw new Error(`engine address ${host}: use tcp://HOST:PORT, ssh://USER@HOST or unix:///PATH`);
}

/**
 * Plain HTTP to a tcp:// engine, giving up on a connection not made within
 * CONNECT_TIMEOUT_MS (a request waits for its answer as long as it takes).
 */
export class ConnectTimeoutAgent extends Agent {
  constructor(private readonly timeoutMs = CONNECT_TIMEOUT_MS) {
    // The settings of Node's global agent, which the client uses otherwise.
    super({ keepAlive: true, scheduling: 'lifo', timeout: 5000 });
  }

  override createConnection(options: ClientRequestArgs): Duplex {
    const socket = connect(options as NetConnectOpts);
    const timer = setTimeout(() => socket.destroy(connectTimedOut(options, this.timeoutMs)), this.timeoutMs);
    const stop = () => clearTimeout(timer);
    socket.once('connect', stop).once('close', stop);
    return socket;
  }
}

function connectTimedOut(options: ClientRequestArgs, ms: number): Error {
  const where = `${options.host ?? options.hostname ?? ''}:${String(options.port ?? '')}`;
  return Object.assign(new Error(`connect ETIMEDOUT ${where} (no answer within ${ms / 1000}s)`), { code: 'ETIMEDOUT', syscall: 'connect' });
}

/** dockerode's options, with the HTTP agent docker-modem takes (which @types/dockerode leaves out). */
export type DockerClientOptions = Docker.DockerOptions & { agent?: Agent };

/**
 * The dockerode options for an engine address. An ssh:// engine is reached
 * through kc's SshDialAgent, over a client that speaks plain HTTP to
 * `http://HOST:PORT`: docker-modem's own ssh mode builds an invalid URL.
 */
export function dockerOptionsFor(host: string): DockerClientOptions {
  const endpoint = parseEngineAddress(host);
  switch (endpoint.kind) {
    case 'unix':
      return { socketPath: endpoint.path };
    case 'tcp':
      return { protocol: 'http', host: urlHost(endpoint.host), port: endpoint.port, agent: new ConnectTimeoutAgent() };
    case 'ssh': {
      const { host: sshHost, port, username } = endpoint;
      return { protocol: 'http', host: urlHost(sshHost), port, agent: new SshDialAgent({ host: sshHost, port, username }, process.env.SSH_AUTH_SOCK) };
    }
  }
}

/** A client for an engine address (see parseEngineAddress). */
export function dockerClientFor(host: string): Docker {
  return new Docker(dockerOptionsFor(host));
}

/** Host and port of a tcp:// engine address; undefined for other kinds. */
export function tcpEndpoint(host: string): { host: string; port: number } | undefined {
  const endpoint = parseEngineAddress(host);
  return endpoint.kind === 'tcp' ? { host: endpoint.host, port: endpoint.port } : undefined;
}

/**
 * The local engine's address, for messages: DOCKER_HOST, or the socket
 * docker-modem picks (Docker Desktop's in the home folder, else the system's).
 */
export function localEngineHost(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DOCKER_HOST) return env.DOCKER_HOST;
  const userSocket = join(homedir(), '.docker', 'run', 'docker.sock');
  return `unix://${existsSync(userSocket) ? userSocket : '/var/run/docker.sock'}`;
}

/**
 * A client for the local engine: docker-modem reads DOCKER_HOST and its TLS
 * settings itself, except an ssh:// one, which goes the way of the config's
 * ssh engines (docker-modem's ssh mode builds an invalid URL).
 */
export function localDockerClient(env: NodeJS.ProcessEnv = process.env): Docker {
  return env.DOCKER_HOST?.startsWith('ssh://') ? dockerClientFor(env.DOCKER_HOST) : new Docker();
}

/**
 * Makes every request of `client` that cannot get through to its engine
 * (refused, no socket, a failed ssh login, ...) fail with an
 * EngineUnavailableError naming the engine, whichever request a command
 * happens to make first (often a listing, not a version check). Every
 * dockerode request goes through the modem's dial; errors that are the
 * engine's answer to a request (404, 409, ...) pass unchanged.
 */
export function reportingEngineFailures(client: Docker, engine: EngineRef): Docker {
  const modem = client.modem;
  const dial = modem.dial.bind(modem);
  modem.dial = (options, callback) => dial(options, (error, result) => callback?.(error && engineFailureOr(error, engine), result));
  return client;
}

function engineFailureOr(error: Error, engine: EngineRef): Error {
  if (error instanceof EngineUnavailableError) return error;
  const failure = new EngineUnavailableError(engine, error);
  return failure.kind === 'other' ? error : failure;
}
