import { defaultClusterSpec, spansEngines } from './defaults.js';
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

/** Why a default add-on is off for this spec: said to the user by kc create cluster. */
export const LOAD_BALANCER_ACROSS_ENGINES =
  'The load-balancer add-on (MetalLB) is off: this cluster spans engines, and MetalLB\'s layer-2 answers on a swarm overlay ' +
  '(whose ARP Docker answers, not the nodes) are untested. Reach a Service from the host through a node\'s extraPortMappings ' +
  'and a NodePort, or turn MetalLB on anyway with addons: {loadBalancer: true} in the config file.';

/**
 * The spec to create: defaults < config file < flags (only flags the user gave;
 * `flags` holds undefined for the rest), with what the user should hear about
 * a default kc changed for it. Throws ValidationError for the first problem.
 */
export function resolveClusterSpecWithNotes(file: ClusterConfigFile | undefined, flags: ClusterSpecInput): { spec: ClusterSpec; notes: string[] } {
  const defaults = defaultClusterSpec();
  // Add-ons are switched one by one: a flag that switches one off leaves the file's others as they are.
  const asked = { ...definedOnly(file?.spec.addons ?? {}), ...definedOnly(flags.addons ?? {}) };
  const addons = { ...defaults.addons, ...asked };
  const spec = defaultClusterSpec({ ...definedOnly(file?.spec ?? {}), ...definedOnly(flags), addons });
  const notes: string[] = [];
  // Across engines MetalLB is untested (see LOAD_BALANCER_ACROSS_ENGINES): off, unless the user asked for it.
  if (asked.loadBalancer === undefined && spansEngines(spec)) {
    spec.addons = { ...spec.addons, loadBalancer: false };
    notes.push(LOAD_BALANCER_ACROSS_ENGINES);
  }
  return { spec: validateClusterSpec(spec, labelsFor(file, flags)), notes };
}

/** The spec to create (see resolveClusterSpecWithNotes). */
export function resolveClusterSpec(file: ClusterConfigFile | undefined, flags: ClusterSpecInput): ClusterSpec {
  return resolveClusterSpecWithNotes(file, flags).spec;
}
