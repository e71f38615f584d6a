import { defaultClusterSpec } from './defaults.js';
import type { ClusterConfigFile } from './v1alpha1.js';
import type { ClusterSpec, ClusterSpecInput } from './types.js';
import { FLAG_LABELS, validateClusterSpec, type FieldLabels } from './validate.js';

/** Drops keys whose value is undefined: spreading them would replace a default or a file value with nothing. */
function definedOnly<T extends object>(partial: T): Partial<T> {
  return Object.fromEntries(Object.entries(partial).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** Each field is named after where its value came from: `--workers`, or `dev.yaml: networking.podSubnet`. */
function labelsFor(file: ClusterConfigFile | undefined, flags: ClusterSpecInput): FieldLabels {
  const labels: FieldLabels = { ...FLAG_LABELS };
  if (!file) return labels;
  for (const key of Object.keys(labels) as (keyof ClusterSpec)[]) {
    const path = file.fieldPaths[key];
    if (path !== undefined && flags[key] === undefined) labels[key] = `${file.source}: ${path}`;
  }
  return labels;
}

/**
 * The spec to create: defaults < config file < flags (only flags the user gave;
 * `flags` holds undefined for the rest). Throws ValidationError for the first problem.
 */
export function resolveClusterSpec(file: ClusterConfigFile | undefined, flags: ClusterSpecInput): ClusterSpec {
  const defaults = defaultClusterSpec();
  // Add-ons are switched one by one: a flag that switches one off leaves the file's others as they are.
  const addons = { ...defaults.addons, ...definedOnly(file?.spec.addons ?? {}), ...definedOnly(flags.addons ?? {}) };
  const spec = defaultClusterSpec({ ...definedOnly(file?.spec ?? {}), ...definedOnly(flags), addons });
  return validateClusterSpec(spec, labelsFor(file, flags));
}
