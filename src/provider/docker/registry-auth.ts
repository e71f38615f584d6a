import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** What the engine takes as X-Registry-Auth for a push. */
export interface RegistryLogin {
  username: string;
  password: string;
  serveraddress: string;
}

interface DockerClientConfig {
  auths?: Record<string, { auth?: string }>;
}

/** The registry a repository name points at: `ghcr.io` for ghcr.io/a/b, Docker Hub for a/b. */
export function registryHost(repository: string): string {
  const first = repository.split('/')[0] ?? '';
  const isHost = repository.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  return isHost ? first : 'https://index.docker.io/v1/';
}

/**
 * The login `docker login` left for a repository's registry in the Docker
 * client's config.json ($DOCKER_CONFIG, else ~/.docker): its `auths` entry,
 * as docker/login-action writes it on a runner. Credential helpers
 * (`credsStore`) keep secrets where kc cannot read them: then undefined, and
 * the push goes anonymously (a registry that wants a login says so).
 */
export async function registryLogin(repository: string, configDir = process.env.DOCKER_CONFIG ?? join(homedir(), '.docker')): Promise<RegistryLogin | undefined> {
  let config: DockerClientConfig;
  try {
    config = JSON.parse(await readFile(join(configDir, 'config.json'), 'utf8')) as DockerClientConfig;
  } catch {
    return undefined;
  }
  const host = registryHost(repository);
  const entry = Object.entries(config.auths ?? {}).find(([key]) => key.replace(/^https?:\/\//, '').replace(/\/.*$/, '') === host.replace(/^https?:\/\//, '').replace(/\/.*$/, ''));
  const decoded = entry?.[1].auth ? Buffer.from(entry[1].auth, 'base64').toString('utf8') : undefined;
  const colon = decoded?.indexOf(':') ?? -1;
  if (decoded === undefined || colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), serveraddress: host };
}
