import type { ComponentBundle } from '../../components/types.js';
import { execOrThrow, type NodeExec } from '../../provider/provider.js';
import type { NodePlan } from '../../model/plan.js';
import type { Deadline } from '../../util/deadline.js';
import { waitUntil } from '../../util/poll.js';

/** Puts a bundle's files onto a node in one tar archive through Docker's archive API. */
export async function deliverFiles(engine: NodeExec, node: NodePlan, bundle: ComponentBundle): Promise<void> {
  await engine.copyFiles(node, bundle.files);
}

/**
 * Enables and starts units whose files were in place when the node booted,
 * without waiting on them (readiness is checked by what they serve): systemd
 * has them loaded, so enabling them need not make it reload everything (the
 * links are for the next boot, which reads them anyway).
 */
export async function startLoadedUnits(engine: NodeExec, node: NodePlan, units: readonly string[]): Promise<void> {
  if (units.length === 0) return;
  await execOrThrow(engine, node, ['systemctl', 'enable', '--no-reload', '--now', '--no-block', ...units]);
}

/** The last lines of a unit's journal, for error messages. */
export async function journalTail(engine: NodeExec, node: NodePlan, unit: string, lines = 30): Promise<string> {
  const result = await engine.exec(node, ['journalctl', '--no-pager', '-o', 'cat', '-n', String(lines), '-u', unit]);
  return `--- ${node.name}: journal of ${unit} (last ${lines} lines) ---\n${result.stdout.trimEnd()}`;
}

/** Waits for systemd to finish booting a node ("running", or "degraded" with the failed units named). */
export async function waitForBoot(engine: NodeExec, node: NodePlan, deadline: Deadline): Promise<string[]> {
  let failed: string[] = [];
  await waitUntil(
    `systemd to boot on ${node.name}`,
    async () => {
      const state = (await engine.exec(node, ['systemctl', 'is-system-running'])).stdout.trim();
      if (state === 'running') return true;
      if (state === 'degraded') {
        const list = await engine.exec(node, ['systemctl', 'list-units', '--failed', '--plain', '--no-legend']);
        failed = list.stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean);
        return true;
      }
      return state || 'no answer';
    },
    { deadline, intervalMs: 250 },
  );
  return failed;
}

/** Waits for a unit to be active; on timeout the error carries the unit's journal. */
export async function waitForUnit(engine: NodeExec, node: NodePlan, unit: string, deadline: Deadline, timeoutMs?: number): Promise<void> {
  await waitUntil(
    `${unit} on ${node.name}`,
    async () => {
      const state = (await engine.exec(node, ['systemctl', 'is-active', unit])).stdout.trim();
      return state === 'active' || state;
    },
    { deadline, timeoutMs, intervalMs: 500, onTimeout: () => journalTail(engine, node, unit) },
  );
}
