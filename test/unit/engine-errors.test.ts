import { engineProblem } from '../../src/provider/docker/preflight.js';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { userInfo } from 'node:os';
import { Server as SshServer, utils as sshUtils, type ServerChannel } from 'ssh2';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConnectTimeoutAgent,
  dockerClientFor,
  dockerOptionsFor,
  localDockerClient,
  localEngineHost,
  parseEngineAddress,
  tcpEndpoint,
} from '../../src/provider/docker/connect.js';
import { DockerEngine } from '../../src/provider/docker/engine.js';
import { SshDialAgent } from '../../src/provider/docker/ssh-agent.js';
import {
  apiOlderThan,
  describeEngineFailure,
  EngineTooOldError,
  SshDialStdioError,
  type EngineFailureKind,
  type EngineRef,
} from '../../src/provider/engine-failure.js';
import { EngineUnavailableError } from '../../src/provider/provider.js';

/**
 * What a user reads when an engine cannot be used: every kind of failure in
 * kc's words (which engine, its address, what failed, what to do), the
 * options kc gives dockerode for each kind of address, and real requests on
 * this machine's loopback: a refused port, a missing socket, an engine that
 * answers too old, and an ssh server that runs `docker system dial-stdio`.
 */

/** An error as Node's net and dns make them. */
function systemError(code: string, syscall: string, fields: { address?: string; hostname?: string; port?: number; path?: string; level?: string } = {}): Error {
  const where = [fields.address ?? fields.hostname ?? fields.path, fields.port].filter((p) => p !== undefined).join(':');
  return Object.assign(new Error(`${syscall} ${code} ${where}`.trim()), { code, syscall, ...fields });
}

/** An error as ssh2 makes them: a stage (level) instead of a code. */
function sshError(message: string, level: string): Error {
  return Object.assign(new Error(message), { level });
}

/** The engine's own answer to a request, as docker-modem turns it into an error. */
function dockerAnswer(statusCode: number, message: string): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message} `), { statusCode, json: { message } });
}

const TCP: EngineRef = { name: 'b', host: 'tcp://10.0.0.2:2375' };
const SSH: EngineRef = { name: 'b', host: 'ssh://nobody@10.0.0.2:2222' };
const LOCAL: EngineRef = { host: 'unix:///var/run/docker.sock' };

describe('describing an engine failure', () => {
  it('says which engine, what failed and what to do, in one sentence pair', () => {
    expect(describeEngineFailure(systemError('ECONNREFUSED', 'connect', { address: '10.0.0.2', port: 2375 }), TCP)).toEqual({
      kind: 'refused',
      message:
        'cannot reach engine "b" at tcp://10.0.0.2:2375: 10.0.0.2:2375 refused the connection (nothing listens there). ' +
        'Check the host of engine "b" in the config\'s engines list, and that dockerd on that machine listens on port 2375 ' +
        '(its -H flag, or "hosts" in /etc/docker/daemon.json); `docker -H tcp://10.0.0.2:2375 version` must answer.',
    });
    expect(describeEngineFailure(systemError('ENOENT', 'connect', { address: '/var/run/docker.sock' }), LOCAL)).toEqual({
      kind: 'socket-missing',
      message:
        'cannot reach the local engine at unix:///var/run/docker.sock: there is no socket /var/run/docker.sock, so no engine runs there. ' +
        'Start it (sudo systemctl start docker), or run scripts/setup-host.sh, which installs and starts one; ' +
        'if your engine listens elsewhere, set DOCKER_HOST to its address.',
    });
  });

  const cases: [string, unknown, EngineRef, EngineFailureKind, RegExp[]][] = [
    ['refused over ssh', systemError('ECONNREFUSED', 'connect', { address: '10.0.0.2', port: 2222, level: 'client-socket' }), SSH, 'refused', [
      /10\.0\.0\.2:2222 refused the connection \(no ssh server listens there\)/, /sshd runs on that machine on port 2222/, /`ssh -p 2222 nobody@10\.0\.0\.2 docker version` must answer/,
    ]],
    ['a stale local socket', systemError('ECONNREFUSED', 'connect', { address: '/var/run/docker.sock' }), LOCAL, 'refused', [
      /nothing answers on the socket \/var\/run\/docker\.sock/, /sudo systemctl start docker/,
    ]],
    ['a missing socket of a listed engine', systemError('ENOENT', 'connect', { address: '/run/e3.sock' }), { name: 'e3', host: 'unix:///run/e3.sock' }, 'socket-missing', [
      /^cannot reach engine "e3" at unix:\/\/\/run\/e3\.sock: there is no socket \/run\/e3\.sock/, /Check the socket path in the host of engine "e3"/,
    ]],
    ['a socket the user may not open', systemError('EACCES', 'connect', { address: '/var/run/docker.sock' }), LOCAL, 'permission', [
      /^cannot use the local engine at unix:\/\/\/var\/run\/docker\.sock: permission denied on the socket \/var\/run\/docker\.sock/, /sudo usermod -aG docker "\$USER"/,
    ]],
    ['a connection a firewall rule forbids', systemError('EPERM', 'connect', { address: '10.0.0.2', port: 2375 }), TCP, 'permission', [
      /this host does not permit the connection to 10\.0\.0\.2:2375/, /firewall rules for port 2375/,
    ]],
    ['a name that does not resolve', systemError('ENOTFOUND', 'getaddrinfo', { hostname: 'engine-b' }), { name: 'b', host: 'tcp://engine-b:2375' }, 'unknown-host', [
      /the host name "engine-b" does not resolve/, /give the machine's IP address/,
    ]],
    ['a name server that does not answer', systemError('EAI_AGAIN', 'getaddrinfo', { hostname: 'engine-b' }), { name: 'b', host: 'tcp://engine-b:2375' }, 'unknown-host', [/does not resolve/]],
    ['no route to the host', systemError('EHOSTUNREACH', 'connect', { address: '10.0.0.2', port: 2375 }), TCP, 'unreachable', [/no route to 10\.0\.0\.2/, /ping 10\.0\.0\.2/]],
    ['no route to the network', systemError('ENETUNREACH', 'connect', { address: '10.0.0.2', port: 2375 }), TCP, 'unreachable', [/no route to 10\.0\.0\.2/]],
    ['a connect that timed out', systemError('ETIMEDOUT', 'connect', { address: '10.0.0.2', port: 2375 }), TCP, 'timeout', [
      /10\.0\.0\.2:2375 did not answer in time/, /no firewall drops port 2375/,
    ]],
    ['an ssh handshake that timed out', sshError('Timed out while waiting for handshake', 'client-timeout'), SSH, 'timeout', [/10\.0\.0\.2:2222 did not answer in time/]],
    ['a port that is not Docker\'s', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), TCP, 'dropped', [
      /the connection closed before the engine answered/, /may not be a Docker engine/,
    ]],
    ['an engine that went away mid-request', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), LOCAL, 'dropped', [
      /closed the connection before it answered \(it stopped or restarted\?\)/, /`docker version` must answer/,
    ]],
    ['an ssh channel that closed', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), SSH, 'dropped', [
      /closed before Docker answered/, /"nobody" may use it \(the docker group\)/,
    ]],
    ['a certificate that does not verify', Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), { host: 'tcp://10.0.0.2:2376' }, 'tls', [
      /^cannot reach the local engine at tcp:\/\/10\.0\.0\.2:2376: the TLS connection failed \(self-signed certificate\)/, /DOCKER_CERT_PATH/,
    ]],
    ['plain HTTP to a listed engine\'s TLS port', dockerAnswer(400, 'Client sent an HTTP request to an HTTPS server.'), { name: 'b', host: 'tcp://10.0.0.2:2376' }, 'tls', [
      /expects TLS \(https\) there, kc spoke plain HTTP/, /plain port \(2375\)/,
    ]],
    ['plain HTTP to the local engine\'s TLS port', dockerAnswer(400, 'Client sent an HTTP request to an HTTPS server.'), { host: 'tcp://10.0.0.2:2376' }, 'tls', [/DOCKER_TLS_VERIFY=1/]],
    ['an ssh login without an accepted key', sshError('All configured authentication methods failed', 'client-authentication'), SSH, 'ssh-auth', [
      /^cannot log in to engine "b" at ssh:\/\/nobody@10\.0\.0\.2:2222: ssh refused user "nobody"/, /ssh-add/, /`ssh -p 2222 nobody@10\.0\.0\.2 docker version` works without a password/,
    ]],
    ['an ssh login as the local user', sshError('All configured authentication methods failed', 'client-authentication'), { name: 'b', host: 'ssh://10.0.0.2' }, 'ssh-auth', [
      /ssh refused the login/, /`ssh -p 22 10\.0\.0\.2 docker version`/,
    ]],
    ['Docker that does not answer over ssh', new SshDialStdioError('permission denied while trying to connect to the Docker daemon socket\n'), SSH, 'ssh-docker', [
      /the ssh login worked, but Docker there did not answer \(docker system dial-stdio: permission denied while trying to connect to the Docker daemon socket\)/, /"nobody" may use it/,
    ]],
    ['an API version the engine refuses', dockerAnswer(400, 'client version 1.45 is too new. Maximum supported API version is 1.40'), TCP, 'api-version', [
      /Docker says: client version 1\.45 is too new\. Maximum supported API version is 1\.40\)/, /Upgrade Docker on that machine to 20\.10 \(API 1\.41\) or newer\.$/,
    ]],
    ['an engine older than kc needs', new EngineTooOldError('19.03.12', '1.40'), TCP, 'api-version', [
      /^cannot use engine "b" at tcp:\/\/10\.0\.0\.2:2375: Docker 19\.03\.12 \(API 1\.40\) is older than kc needs\. Upgrade Docker on that machine to 20\.10/,
    ]],
  ];

  it.each(cases)('%s', (_label, error, engine, kind, patterns) => {
    const failure = describeEngineFailure(error, engine);
    expect(failure.kind).toBe(kind);
    expect(failure.message).toContain(engine.name === undefined ? `the local engine at ${engine.host}` : `engine "${engine.name}" at ${engine.host}`);
    for (const pattern of patterns) expect(failure.message).toMatch(pattern);
    expect(failure.message).toMatch(/\. [A-Za-z].*\.$/);
  });

  it('leaves alone what is the engine\'s answer to a request, or not about the way to it', () => {
    const others = [
      dockerAnswer(404, 'No such container: x'),
      // A pull through the engine that failed on the registry's certificate: the engine itself is fine.
      dockerAnswer(500, 'Get "https://registry.example/v2/": x509: certificate signed by unknown authority'),
      // A build context file that vanished: ENOENT, but not a socket.
      systemError('ENOENT', 'open', { path: '/tmp/context/Dockerfile' }),
      new Error('something else'),
      'a string',
    ];
    for (const error of others) expect(describeEngineFailure(error, TCP).kind).toBe('other');
    expect(describeEngineFailure(dockerAnswer(500, 'oops'), LOCAL).message).toBe('cannot use the local engine at unix:///var/run/docker.sock: oops. Check that the engine runs and that `docker version` answers.');
  });

  it('compares API versions as numbers', () => {
    expect(apiOlderThan('1.40', '1.41')).toBe(true);
    expect(apiOlderThan('1.9', '1.41')).toBe(true);
    expect(apiOlderThan('1.41', '1.41')).toBe(false);
    expect(apiOlderThan('1.47', '1.41')).toBe(false);
    expect(apiOlderThan('2.0', '1.41')).toBe(false);
  });
});

describe('the options kc gives dockerode', () => {
  it('keeps an ssh address\'s user, host and port for the ssh login, and gives the client a URL Node reads', () => {
    const options = dockerOptionsFor('ssh://nobody@127.0.0.1:2222');
    expect(options).toMatchObject({ protocol: 'http', host: '127.0.0.1', port: 2222 });
    expect(options.agent).toBeInstanceOf(SshDialAgent);
    expect((options.agent as SshDialAgent).target).toEqual({ host: '127.0.0.1', port: 2222, username: 'nobody' });
    // docker-modem's own ssh mode is never used: it builds "ssh:HOST:PORTHOST".
    expect(options).not.toHaveProperty('sshOptions');
  });

  it('fills in ssh\'s defaults: port 22, the local user; and takes IPv6 addresses and encoded users', () => {
    expect(parseEngineAddress('ssh://nobody@engine-b')).toEqual({ kind: 'ssh', host: 'engine-b', port: 22, username: 'nobody' });
    expect(parseEngineAddress('ssh://engine-b:2200')).toEqual({ kind: 'ssh', host: 'engine-b', port: 2200, username: userInfo().username });
    expect(parseEngineAddress('ssh://kc%40corp@engine-b')).toMatchObject({ username: 'kc@corp' });
    const ipv6 = dockerOptionsFor('ssh://nobody@[fd00::2]:2222');
    expect(ipv6).toMatchObject({ host: '[fd00::2]', port: 2222 });
    expect((ipv6.agent as SshDialAgent).target).toEqual({ host: 'fd00::2', port: 2222, username: 'nobody' });
  });

  it('reads tcp:// and unix:// addresses, and refuses others', () => {
    const tcp = dockerOptionsFor('tcp://10.210.0.10:2375');
    expect(tcp).toMatchObject({ protocol: 'http', host: '10.210.0.10', port: 2375 });
    expect(tcp.agent).toBeInstanceOf(ConnectTimeoutAgent);
    expect(dockerOptionsFor('tcp://10.210.0.10')).toMatchObject({ port: 2375 });
    expect(dockerOptionsFor('tcp://[fd00::2]:2375')).toMatchObject({ host: '[fd00::2]' });
    expect(tcpEndpoint('tcp://[fd00::2]:2375')).toEqual({ host: 'fd00::2', port: 2375 });
    expect(tcpEndpoint('ssh://kc@host')).toBeUndefined();
    expect(dockerOptionsFor('unix:///run/other.sock')).toEqual({ socketPath: '/run/other.sock' });
    expect(() => dockerOptionsFor('http://x:1')).toThrow(/use tcp:\/\/HOST:PORT, ssh:\/\/USER@HOST or unix:\/\/\/PATH/);
  });

  it('names the local engine by DOCKER_HOST or its socket, and reaches an ssh:// DOCKER_HOST the way of listed engines', () => {
    expect(localEngineHost({ DOCKER_HOST: 'tcp://10.0.0.9:2375' })).toBe('tcp://10.0.0.9:2375');
    expect(localEngineHost({})).toMatch(/^unix:\/\/\/.*docker\.sock$/);
    const viaSsh = localDockerClient({ DOCKER_HOST: 'ssh://nobody@10.0.0.9' }).modem as unknown as { agent?: unknown; protocol?: string };
    expect(viaSsh.agent).toBeInstanceOf(SshDialAgent);
    expect(viaSsh.protocol).toBe('http');
  });
});

/** Servers a test started, closed after it. */
const servers: { close: () => void }[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** A loopback port nothing listens on: it was free a moment ago. */
async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A loopback HTTP server answering every request with `status` and `body`, as an engine would. */
async function fakeEngine(status: number, body: object | string): Promise<string> {
  const server: HttpServer = createHttpServer((_request, response) => {
    response.writeHead(status, { 'Content-Type': typeof body === 'string' ? 'text/plain' : 'application/json' });
    response.end(typeof body === 'string' ? body : JSON.stringify(body));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A listed engine, "b", at `host`. */
function engineAt(host: string): DockerEngine {
  return new DockerEngine(dockerClientFor(host), { name: 'b', host });
}

async function failureOf(attempt: Promise<unknown>): Promise<EngineUnavailableError> {
  const error = await attempt.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(EngineUnavailableError);
  return error as EngineUnavailableError;
}

describe('requests to an engine that cannot be used', () => {
  it('fail on whichever request comes first, naming the engine: here a listing to a refused port', async () => {
    const host = `tcp://127.0.0.1:${await closedPort()}`;
    const listing = await failureOf(engineAt(host).listNodes({ 'dev.kc.cluster': 'x' }));
    expect(listing.kind).toBe('refused');
    expect(listing.message).toMatch(new RegExp(`^cannot reach engine "b" at ${host}: 127\\.0\\.0\\.1:\\d+ refused the connection`));
    expect(listing.engine).toEqual({ name: 'b', host });
    expect((await failureOf(engineAt(host).ensureReachable())).kind).toBe('refused');
  });

  it('says when the local socket is missing', async () => {
    const host = 'unix:///tmp/kc-no-such-engine.sock';
    const failure = await failureOf(new DockerEngine(dockerClientFor(host), { host }).listVolumes({}));
    expect(failure.kind).toBe('socket-missing');
    expect(failure.message).toMatch(/^cannot reach the local engine at unix:\/\/\/tmp\/kc-no-such-engine\.sock: there is no socket \/tmp\/kc-no-such-engine\.sock/);
  });

  it('refuses an engine older than Docker 20.10 and takes a recent one', async () => {
    const old = await failureOf(engineAt(await fakeEngine(200, { Version: '19.03.12', ApiVersion: '1.40' })).ensureReachable());
    expect(old.kind).toBe('api-version');
    expect(old.message).toMatch(/Docker 19\.03\.12 \(API 1\.40\) is older than kc needs/);
    expect(await engineAt(await fakeEngine(200, { Version: '20.10.24', ApiVersion: '1.41' })).ensureReachable()).toBe('20.10.24');
  });

  it('says TLS when the port wants it, and passes the engine\'s other answers on unchanged', async () => {
    const tls = await failureOf(engineAt(await fakeEngine(400, 'Client sent an HTTP request to an HTTPS server.\n')).listNetworks({}));
    expect(tls.kind).toBe('tls');
    // A 404 stays a 404: "no such container" is an answer, not a failure to reach the engine.
    expect(await engineAt(await fakeEngine(404, { message: 'No such container: x' })).inspectNode('x')).toBeUndefined();
  });
});

type SshBehaviour = 'answers' | 'no-docker';

/**
 * An ssh server on loopback that lets in `nobody` (no key needed) and, for
 * `docker system dial-stdio`, answers one HTTP request as a Docker engine
 * would ('answers') or writes dial-stdio's error ('no-docker').
 */
async function sshEngine(behaviour: SshBehaviour): Promise<{ port: number; seen: { users: string[]; commands: string[]; requests: string[] } }> {
  const seen = { users: [] as string[], commands: [] as string[], requests: [] as string[] };
  const hostKey = sshUtils.generateKeyPairSync('ed25519').private;
  const server = new SshServer({ hostKeys: [hostKey] }, (client) => {
    client.on('authentication', (context) => {
      seen.users.push(context.username);
      if (context.username === 'nobody') context.accept();
      else context.reject([]);
    });
    client.on('session', (accept) => {
      accept().on('exec', (acceptExec, _reject, info) => {
        seen.commands.push(info.command);
        serveDialStdio(acceptExec(), behaviour, seen.requests);
      });
    });
    client.on('error', () => undefined);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, seen };
}

function serveDialStdio(channel: ServerChannel, behaviour: SshBehaviour, requests: string[]): void {
  if (behaviour === 'no-docker') {
    channel.stderr.write('permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock\n');
    return;
  }
  let received = '';
  channel.on('data', (chunk: Buffer) => {
    received += chunk.toString();
    if (!received.includes('\r\n\r\n')) return;
    requests.push(received.split('\r\n')[0] ?? '');
    const body = JSON.stringify({ Version: '20.10.24', ApiVersion: '1.41' });
    channel.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    channel.exit(0);
    channel.end();
  });
}

describe('an engine over ssh', () => {
  /** Node's warnings while `run` runs (docker-modem's ssh mode made a DeprecationWarning of every request). */
  async function warningsDuring(run: () => Promise<unknown>): Promise<string[]> {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      await run();
      await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
      process.off('warning', onWarning);
    }
    return warnings;
  }

  it('logs in as the address\'s user and asks Docker through `docker system dial-stdio`, without a Node warning', async () => {
    const { port, seen } = await sshEngine('answers');
    let version = '';
    const warnings = await warningsDuring(async () => {
      version = await engineAt(`ssh://nobody@127.0.0.1:${port}`).ensureReachable();
    });
    expect(version).toBe('20.10.24');
    expect(seen.users).toContain('nobody');
    expect(seen.commands).toEqual(['docker system dial-stdio']);
    expect(seen.requests).toEqual([expect.stringMatching(/^GET \/version HTTP\/1\.1$/)]);
    expect(warnings).toEqual([]);
  });

  it('says the login failed when ssh lets the user not in', async () => {
    const { port } = await sshEngine('answers');
    const failure = await failureOf(engineAt(`ssh://somebody@127.0.0.1:${port}`).listNodes({}));
    expect(failure.kind).toBe('ssh-auth');
    expect(failure.message).toMatch(new RegExp(`^cannot log in to engine "b" at ssh://somebody@127\\.0\\.0\\.1:${port}: ssh refused user "somebody"`));
  });

  it('passes on what dial-stdio said when Docker does not answer there', async () => {
    const { port } = await sshEngine('no-docker');
    const failure = await failureOf(engineAt(`ssh://nobody@127.0.0.1:${port}`).ensureReachable());
    expect(failure.kind).toBe('ssh-docker');
    expect(failure.message).toMatch(/the ssh login worked, but Docker there did not answer \(docker system dial-stdio: permission denied while trying to connect/);
  });
});

describe('the engine preflight', () => {
  const x86 = { arch: 'amd64', securityOptions: ['name=seccomp,profile=builtin', 'name=cgroupns'], apparmorParser: false };

  it('refuses an engine on another architecture, naming what to use', () => {
    expect(engineProblem({ ...x86, arch: 'arm64' })).toMatch(/^this Docker engine runs on arm64, and kc's node images are amd64 only .*use an amd64 \(x86_64\) machine/);
  });

  it('refuses a host where AppArmor is on but its tools are missing, naming the package', () => {
    const problem = engineProblem({ ...x86, securityOptions: ['name=apparmor', 'name=seccomp,profile=builtin'] });
    expect(problem).toMatch(/^AppArmor is enabled on this host, but its tools are not installed \(apparmor_parser\)/);
    expect(problem).toContain('`apt-get install apparmor`');
  });

  it('takes a host with AppArmor and its tools, one without AppArmor, and a remote engine it cannot look into', () => {
    expect(engineProblem({ ...x86, securityOptions: ['name=apparmor'], apparmorParser: true })).toBeUndefined();
    expect(engineProblem(x86)).toBeUndefined();
    expect(engineProblem({ arch: 'amd64', securityOptions: undefined, apparmorParser: undefined })).toBeUndefined();
  });
});
