/**
 * Reading Ginkgo's JSON report (`ginkgo --json-report`): what passed, what
 * failed and why, in the words of the suite itself. Pure, so it is tested
 * on report excerpts without running anything.
 */

/** The fields of Ginkgo v2's types.SpecReport that kc reads. */
interface SpecReport {
  ContainerHierarchyTexts: string[] | null;
  LeafNodeText: string;
  LeafNodeType: string;
  State: string;
  Failure?: { Message?: string; Location?: { FileName?: string; LineNumber?: number } };
}

interface SuiteReport {
  SpecReports: SpecReport[] | null;
}

export interface FailedTest {
  name: string;
  /** The first line of the failure message, and where the suite raised it. */
  firstError: string;
}

export interface SuiteSummary {
  passed: number;
  failed: number;
  /** Specs not run: outside --focus/--skip, or skipped by the suite itself. */
  skipped: number;
  failures: FailedTest[];
}

/** States Ginkgo gives a spec that ran and did not succeed. */
const FAILED_STATES = new Set(['failed', 'panicked', 'interrupted', 'aborted', 'timedout']);

function specName(spec: SpecReport): string {
  return [...(spec.ContainerHierarchyTexts ?? []), spec.LeafNodeText].filter(Boolean).join(' ');
}

function firstError(spec: SpecReport): string {
  const message = (spec.Failure?.Message ?? '').split('\n').map((l) => l.trim()).find(Boolean) ?? spec.State;
  const location = spec.Failure?.Location;
  return location?.FileName ? `${message} (${location.FileName}:${location.LineNumber ?? 0})` : message;
}

/**
 * Counts the `It` specs of a report; set-up nodes (BeforeSuite and the like)
 * count only when they fail, as a failure named after the node.
 */
export function summarizeReport(json: string): SuiteSummary {
  const suites = JSON.parse(json) as SuiteReport[];
  const summary: SuiteSummary = { passed: 0, failed: 0, skipped: 0, failures: [] };
  for (const spec of suites.flatMap((suite) => suite.SpecReports ?? [])) {
    const isTest = spec.LeafNodeType === 'It';
    if (FAILED_STATES.has(spec.State)) {
      summary.failed++;
      summary.failures.push({ name: isTest ? specName(spec) : `[${spec.LeafNodeType}] ${specName(spec)}`, firstError: firstError(spec) });
    } else if (!isTest) {
      continue;
    } else if (spec.State === 'passed') {
      summary.passed++;
    } else {
      summary.skipped++;
    }
  }
  return summary;
}

/** The closing line any CI reads: `N passed, N failed, N skipped`. */
export function summaryLine(summary: SuiteSummary): string {
  return `${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`;
}
