import { PACKAGED_UNITS } from './units.js';

/** A file to place on a node. Content is text or bytes; mode defaults to 0644. */
export interface NodeFile {
  path: string;
  content: string | Buffer;
  mode?: number;
}

/** What one component needs on one node: its files (configs, certs, unit files) and the units to start. */
export interface ComponentBundle {
  files: NodeFile[];
  /** systemd unit names to enable and start, in order, e.g. `etcd.service`. */
  units: string[];
}

export const SYSTEMD_UNIT_DIR = '/etc/systemd/system';
const PACKAGED_UNIT_DIR = '/lib/systemd/system';

/** A symbolic link to place on a node, as `systemctl enable` makes them. */
export interface NodeLink {
  path: string;
  target: string;
}

/**
 * The links `systemctl enable` would make for units whose [Install] section
 * says `WantedBy=multi-user.target` (all of kc's): placed before a node first
 * boots, systemd starts those units as it boots, with no call into the node.
 */
export function enabledAtBoot(units: readonly string[]): NodeLink[] {
  return units.map((unit) => ({
    path: `${SYSTEMD_UNIT_DIR}/multi-user.target.wants/${unit}`,
    target: `${PACKAGED_UNITS.includes(unit) ? PACKAGED_UNIT_DIR : SYSTEMD_UNIT_DIR}/${unit}`,
  }));
}

/**
 * Several components' bundles for one node. Components may share a file (the
 * cluster CA, say): it is delivered once, and two different contents for one
 * path are a bug, reported as such.
 */
export function mergeBundles(...bundles: ComponentBundle[]): ComponentBundle {
  const files = new Map<string, NodeFile>();
  for (const file of bundles.flatMap((b) => b.files)) {
    const seen = files.get(file.path);
    if (seen && (String(seen.content) !== String(file.content) || seen.mode !== file.mode)) {
      throw new Error(`internal: two components write different contents to ${file.path}`);
    }
    files.set(file.path, file);
  }
  return { files: [...files.values()], units: bundles.flatMap((b) => b.units) };
}
