/**
 * Image references as Docker reads them: `[host[:port]/]path[:tag]`, e.g.
 * `kc/node:v1.37.2`, `localhost:5001/kc-node:v1.37.2`, `ghcr.io/owner/kc-node`.
 * A digest (`@sha256:...`) is not taken: kc names images by tag.
 */
// A first part is a registry host only when it looks like one (a dot, a port, or localhost), as Docker decides.
const LABEL = String.raw`[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?`;
const HOST = String.raw`(?:(?:localhost|${LABEL}(?:\.${LABEL})+)(?::[0-9]+)?/|${LABEL}:[0-9]+/)`;
const COMPONENT = String.raw`[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`;
const TAG = String.raw`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`;
const REFERENCE = new RegExp(`^${HOST}?${COMPONENT}(?:/${COMPONENT})*(?::${TAG})?$`);

export function isImageReference(value: string): boolean {
  return REFERENCE.test(value);
}

/** The repository and tag of a reference; the tag is undefined when none is given (`latest` to Docker). */
export function splitImageReference(reference: string): { repository: string; tag: string | undefined } {
  const at = reference.lastIndexOf(':');
  return at > reference.lastIndexOf('/') ? { repository: reference.slice(0, at), tag: reference.slice(at + 1) } : { repository: reference, tag: undefined };
}

/** An image name as a registry knows it: `docker.io/library/redis:7.0.7` for `redis:7.0.7`. */
export interface CanonicalImage {
  /** The registry host (and port): `docker.io` for Docker Hub. */
  registry: string;
  /** The repository inside it: `library/redis`, `fluxcd/flux-cli`. */
  path: string;
  tag: string;
}

/**
 * Docker's reading of a short name, spelled out: no registry host is Docker
 * Hub (`docker.io`), a one-part name there is an official image
 * (`library/<name>`), no tag is `latest`. undefined for what is not an image
 * reference with a tag (a digest, `@sha256:...`, included).
 */
export function canonicalImage(reference: string): CanonicalImage | undefined {
  if (!isImageReference(reference)) return undefined;
  const { repository, tag } = splitImageReference(reference);
  const [first = '', ...rest] = repository.split('/');
  const isHost = rest.length > 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registry = isHost ? (first === 'index.docker.io' ? 'docker.io' : first) : 'docker.io';
  const path = isHost ? rest.join('/') : repository;
  return { registry, path: registry === 'docker.io' && !path.includes('/') ? `library/${path}` : path, tag: tag ?? 'latest' };
}
