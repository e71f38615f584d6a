/**
 * Why kc could not use a Docker engine, in kc's words: which engine, what
 * failed, and what to check or run. One function says it for every engine
 * and every failure (the local engine's and those a cluster's config lists),
 * so the user reads the same message whichever command touched an engine
 * first. It only reads the error (Node's connection codes, ssh2's levels,
 * Docker's HTTP answers); it does not touch the network.
 */

/** An engine as the user knows it: its name in the config's engines list (none for the local engine) and its address. */
export interface EngineRef {
  name?: string;
  /** As DOCKER_HOST spells it: `tcp://HOST:PORT`, `ssh://USER@HOST[:PORT]`, `unix:///PATH`. */
  host: string;
}

export type EngineFailureKind =
  | 'refused'
  | 'socket-missing'
  | 'permission'
  | 'unknown-host'
  | 'unreachable'
  | 'timeout'
  | 'dropped'
  | 'tls'
  | 'ssh-auth'
  | 'ssh-docker'
  | 'api-version'
  | 'other';

export interface EngineFailure {
  kind: EngineFailureKind;
  /** One message: the engine and its address, what failed, what to check or run. */
  message: string;
}

/** The oldest Docker API kc can use: 1.41 (Docker 20.10) gives containers a private cgroup namespace, which every node needs. */
export const MIN_API_VERSION = '1.41';
const MIN_DOCKER_VERSION = '20.10';

/** An engine that answers but is older than kc needs. */
export class EngineTooOldError extends Error {
  constructor(
    readonly dockerVersion: string,
    readonly apiVersion: string,
  ) {
    super(`Docker ${dockerVersion} (API ${apiVersion}) is older than kc needs`);
    this.name = 'EngineTooOldError';
  }
}

/** `docker system dial-stdio` on an ssh engine's machine wrote an error: the login worked, Docker did not answer. */
export class SshDialStdioError extends Error {
  constructor(readonly stderr: string) {
    super(`docker system dial-stdio: ${stderr.trim()}`);
    this.name = 'SshDialStdioError';
  }
}

/** True when API version `a` (`major.minor`) is older than `b`. */
export function apiOlderThan(a: string, b: string): boolean {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor !== bMajor ? aMajor < bMajor : aMinor < bMinor;
}

/** What an error carries, whoever threw it (Node's net and dns, ssh2, docker-modem). */
interface ErrorFacts {
  message: string;
  code: string | undefined;
  /** ssh2's stage: `client-authentication`, `client-timeout`, `client-socket`, `client-dns`, `handshake`, ... */
  level: string | undefined;
  statusCode: number | undefined;
  /** The system call that failed (`connect`, `getaddrinfo`, `open`, ...). */
  syscall: string | undefined;
  /** The socket path or address a connect failed on. */
  address: string | undefined;
}

function factsOf(error: unknown): ErrorFacts {
  const fields = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const text = (key: string) => (typeof fields[key] === 'string' ? fields[key] : undefined);
  return {
    // Node's AggregateError (every address of a name refused) has an empty message and the code.
    message: (error instanceof Error ? error.message : String(error)) || (text('code') ?? 'unknown error'),
    code: text('code'),
    level: text('level'),
    statusCode: typeof fields.statusCode === 'number' ? fields.statusCode : undefined,
    syscall: text('syscall'),
    address: text('address'),
  };
}

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|EPROTO$)/;
const PLAIN_TO_TLS = /HTTP request to an HTTPS server/i;
const API_VERSION = /client version .* is too (new|old)|API version/i;
/** Calls whose errors are about the way to the engine; a file that could not be read for a request (`open`, `stat`) is not. */
const NETWORK_SYSCALLS = new Set(['connect', 'getaddrinfo', 'read', 'write']);

/** Node's codes for a connection that failed (net, dns), by kind. */
const KIND_OF_CODE = new Map<string, EngineFailureKind>([
  ['ECONNREFUSED', 'refused'],
  ['ENOENT', 'socket-missing'],
  ['EACCES', 'permission'],
  ['EPERM', 'permission'],
  ['ENOTFOUND', 'unknown-host'],
  ['EAI_AGAIN', 'unknown-host'],
  ['EAI_NONAME', 'unknown-host'],
  ['EHOSTUNREACH', 'unreachable'],
  ['ENETUNREACH', 'unreachable'],
  ['EHOSTDOWN', 'unreachable'],
  ['ETIMEDOUT', 'timeout'],
  ['ECONNRESET', 'dropped'],
  ['EPIPE', 'dropped'],
]);

/** The kind of failure, from the error's class, ssh2's level, the HTTP status, the code, and last the message. */
function classify(error: unknown, facts: ErrorFacts): EngineFailureKind {
  if (error instanceof EngineTooOldError) return 'api-version';
  if (error instanceof SshDialStdioError) return 'ssh-docker';
  if (facts.level === 'client-authentication') return 'ssh-auth';
  if (facts.level === 'client-timeout') return 'timeout';
  // The engine answered: only its answer to a wrong protocol or API version is about the engine itself
  // (a registry's certificate error while pulling, say, is not).
  if (facts.statusCode !== undefined) {
    if (PLAIN_TO_TLS.test(facts.message)) return 'tls';
    return facts.statusCode === 400 && API_VERSION.test(facts.message) ? 'api-version' : 'other';
  }
  if (facts.syscall !== undefined && !NETWORK_SYSCALLS.has(facts.syscall)) return 'other';
  const byCode = facts.code === undefined ? undefined : KIND_OF_CODE.get(facts.code);
  if (byCode) return byCode;
  if ((facts.code !== undefined && TLS_CODE.test(facts.code)) || /certificate|ssl routines/i.test(facts.message)) return 'tls';
  if (/socket hang up/i.test(facts.message)) return 'dropped';
  return 'other';
}

/** The pieces of an engine address that messages name. */
interface Address {
  scheme: 'tcp' | 'ssh' | 'unix' | 'other';
  hostname: string;
  port: number;
  /** The ssh user named in the address; '' when ssh picks it (the local user). */
  user: string;
  path: string;
}

function addressOf(host: string): Address {
  let url: URL;
  try {
    url = new URL(host);
  } catch {
    return { scheme: 'other', hostname: host, port: 0, user: '', path: '' };
  }
  const scheme = url.protocol === 'tcp:' ? 'tcp' : url.protocol === 'ssh:' ? 'ssh' : url.protocol === 'unix:' ? 'unix' : 'other';
  return {
    scheme,
    hostname: url.hostname,
    port: Number(url.port || (scheme === 'ssh' ? 22 : 2375)),
    user: decodeURIComponent(url.username),
    path: url.pathname,
  };
}

/** Docker's own words, without docker-modem's `(HTTP code 400) unexpected - ` prefix. */
function dockerWords(message: string): string {
  return message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}

/** Everything a message is made of. */
interface Context {
  engine: EngineRef;
  address: Address;
  facts: ErrorFacts;
  /** `engine "b" at tcp://10.0.0.2:2375`, or `the local engine at unix:///var/run/docker.sock`. */
  who: string;
  /** Where the user wrote the address. */
  where: string;
  /** The command that must answer once the problem is fixed. */
  check: string;
  /** `HOST:PORT`, or the socket's path. */
  endpoint: string;
}

function contextOf(error: unknown, engine: EngineRef): Context {
  const address = addressOf(engine.host);
  const facts = factsOf(error);
  const local = engine.name === undefined;
  const login = address.user ? `${address.user}@${address.hostname}` : address.hostname;
  const sshCheck = `ssh -p ${address.port} ${login} docker version`;
  return {
    engine,
    address,
    facts,
    who: local ? `the local engine at ${engine.host}` : `engine "${engine.name}" at ${engine.host}`,
    where: local ? 'DOCKER_HOST' : `the host of engine "${engine.name}" in the config's engines list`,
    check: address.scheme === 'ssh' ? sshCheck : local ? 'docker version' : `docker -H ${engine.host} version`,
    endpoint: address.scheme === 'unix' ? (facts.address ?? address.path) : `${address.hostname}:${address.port}`,
  };
}

const START_LOCAL_ENGINE = 'Start it (sudo systemctl start docker), or run scripts/setup-host.sh, which installs and starts one';

/** The first half of a message (what failed) and the second (what to do), per kind. */
const WORDS: Record<EngineFailureKind, (c: Context) => [string, string]> = {
  refused: (c) => {
    if (c.address.scheme === 'unix') return [`cannot reach ${c.who}: nothing answers on the socket ${c.endpoint} (its engine stopped)`, startOrCheckPath(c)];
    if (c.address.scheme === 'ssh') {
      return [`cannot reach ${c.who}: ${c.endpoint} refused the connection (no ssh server listens there)`, `Check ${c.where}, and that sshd runs on that machine on port ${c.address.port}; \`${c.check}\` must answer`];
    }
    return [
      `cannot reach ${c.who}: ${c.endpoint} refused the connection (nothing listens there)`,
      `Check ${c.where}, and that dockerd on that machine listens on port ${c.address.port} (its -H flag, or "hosts" in /etc/docker/daemon.json); \`${c.check}\` must answer`,
    ];
  },
  'socket-missing': (c) => [`cannot reach ${c.who}: there is no socket ${c.endpoint}, so no engine runs there`, startOrCheckPath(c)],
  permission: (c) =>
    c.address.scheme === 'unix'
      ? [
          `cannot use ${c.who}: permission denied on the socket ${c.endpoint}`,
          'Add your user to the docker group (sudo usermod -aG docker "$USER", then log in again), or run kc as root',
        ]
      : [`cannot reach ${c.who}: this host does not permit the connection to ${c.endpoint}`, `Check this host's firewall rules for port ${c.address.port}`],
  'unknown-host': (c) => [`cannot reach ${c.who}: the host name "${c.address.hostname}" does not resolve`, `Check ${c.where} for a typo, or give the machine's IP address`],
  unreachable: (c) => [
    `cannot reach ${c.who}: there is no route to ${c.address.hostname}`,
    `Check that the machine is up and reachable from here (ping ${c.address.hostname}), and ${c.where}`,
  ],
  timeout: (c) => [
    `cannot reach ${c.who}: ${c.endpoint} did not answer in time`,
    `Check that the machine is up, ${c.where}, and that no firewall drops port ${c.address.port} on the way; \`${c.check}\` must answer`,
  ],
  dropped: (c) => {
    if (c.address.scheme === 'ssh') return [`cannot use ${c.who}: the connection closed before Docker answered`, sshDockerFix(c)];
    if (c.address.scheme === 'unix') {
      return [`cannot use ${c.who}: the engine closed the connection before it answered (it stopped or restarted?)`, `Check that it runs; \`${c.check}\` must answer`];
    }
    return [
      `cannot use ${c.who}: the connection closed before the engine answered`,
      `What listens at ${c.endpoint} may not be a Docker engine: check the port in ${c.where} (Docker's plain port is 2375); \`${c.check}\` must answer`,
    ];
  },
  tls: (c) =>
    PLAIN_TO_TLS.test(c.facts.message)
      ? [
          `cannot use ${c.who}: the engine expects TLS (https) there, kc spoke plain HTTP`,
          c.engine.name === undefined
            ? 'Set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the folder of your client certificates (ca.pem, cert.pem, key.pem)'
            : 'kc talks plain HTTP to tcp:// engines: use the engine\'s plain port (2375) on a private network, or ssh://USER@HOST',
        ]
      : [
          `cannot reach ${c.who}: the TLS connection failed (${c.facts.message})`,
          `Check the certificates in DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem) against the engine's, and that its certificate names ${c.address.hostname}`,
        ],
  'ssh-auth': (c) => [
    `cannot log in to ${c.who}: ssh refused ${c.address.user ? `user "${c.address.user}"` : 'the login'} (no key was accepted)`,
    `kc logs in with the keys of your ssh agent (SSH_AUTH_SOCK): start one and add the key (eval "$(ssh-agent)"; ssh-add), and check that \`${c.check}\` works without a password`,
  ],
  'ssh-docker': (c) => [`cannot use ${c.who}: the ssh login worked, but Docker there did not answer (${c.facts.message})`, sshDockerFix(c)],
  'api-version': (c) => [
    // Without an HTTP status the error is kc's own version check (EngineTooOldError), already in kc's words.
    `cannot use ${c.who}: ${c.facts.statusCode === undefined ? c.facts.message : `its Docker API does not fit kc's (Docker says: ${dockerWords(c.facts.message)})`}`,
    `Upgrade Docker on that machine to ${MIN_DOCKER_VERSION} (API ${MIN_API_VERSION}) or newer`,
  ],
  other: (c) => [`cannot use ${c.who}: ${dockerWords(c.facts.message)}`, `Check that the engine runs and that \`${c.check}\` answers`],
};

function startOrCheckPath(c: Context): string {
  if (c.engine.name !== undefined) return `Check the socket path in ${c.where}, and that the engine behind it runs`;
  return `${START_LOCAL_ENGINE}; if your engine listens elsewhere, set DOCKER_HOST to its address`;
}

function sshDockerFix(c: Context): string {
  const user = c.address.user ? `"${c.address.user}"` : 'your user';
  return `Check that Docker runs on that machine and that ${user} may use it (the docker group); \`${c.check}\` must answer`;
}

/**
 * What went wrong with an engine and what to do, for any error a request to
 * it failed with. Kind `other` means the error says nothing about the engine
 * itself (a request it refused, say): callers that only translate connection
 * failures pass those on unchanged.
 */
export function describeEngineFailure(error: unknown, engine: EngineRef): EngineFailure {
  const context = contextOf(error, engine);
  const kind = classify(error, context.facts);
  const [what, fix] = WORDS[kind](context);
  return { kind, message: `${what}. ${fix}.` };
}
