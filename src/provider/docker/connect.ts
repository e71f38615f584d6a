import Docker from 'dockerode';

/**
 * A client for an engine address as DOCKER_HOST spells it: `tcp://HOST:PORT`
 * (plain HTTP, as on a private network), `ssh://USER@HOST[:PORT]` (the
 * engine's socket through ssh, with the user's agent), `unix:///PATH`.
 */
export function dockerClientFor(host: string): Docker {
  const url = new URL(host);
  if (url.protocol === 'unix:') return new Docker({ socketPath: url.pathname });
  if (url.protocol === 'tcp:') return new Docker({ protocol: 'http', host: url.hostname, port: Number(url.port || 2375) });
  if (url.protocol === 'ssh:') {
    return new Docker({
      protocol: 'ssh',
      host: url.hostname,
      port: Number(url.port || 22),
      username: decodeURIComponent(url.username) || undefined,
      sshOptions: { agent: process.env.SSH_AUTH_SOCK },
    } as Docker.DockerOptions);
  }
  throw new Error(`engine address ${host}: use tcp://HOST:PORT, ssh://USER@HOST or unix:///PATH`);
}

/** Host and port of a tcp:// engine address; undefined for other kinds. */
export function tcpEndpoint(host: string): { host: string; port: number } | undefined {
  const url = new URL(host);
  return url.protocol === 'tcp:' ? { host: url.hostname, port: Number(url.port || 2375) } : undefined;
}
