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
