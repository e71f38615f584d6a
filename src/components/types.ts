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

export function mergeBundles(...bundles: ComponentBundle[]): ComponentBundle {
  return {
    files: bundles.flatMap((b) => b.files),
    units: bundles.flatMap((b) => b.units),
  };
}
