import { ETCD_SNAPSHOT_ON_NODE, etcdRestoreScript, etcdUnrestoreScript } from '../../../components/etcd.js';
import { UNIT } from '../../../components/units.js';
import type { ClusterPlan } from '../../../model/plan.js';
import { execOrThrow, type NodeExec } from '../../../provider/provider.js';
import type { RestoreRecord } from '../../../state/cluster-state.js';
import { concurrently } from '../../../util/concurrent.js';
import { counted } from '../../../util/words.js';
import { hostApiOf } from '../../kube/api.js';
import { waitForApiServer, waitForEtcd } from '../../kube/waits.js';
import { CONTROL_PLANE_UNITS } from './access.js';
import type { MoveKind, MoveStep } from './move.js';

/** A command on every master at once (etcd members start together: each waits for a quorum); every master answers before a failure is told. */
async function onMasters(engine: NodeExec, plan: ClusterPlan, command: string[]): Promise<void> {
  await concurrently(plan.masters, (master) => execOrThrow(engine, master, command));
}

/**
 * Every master's etcd made a member of a new etcd cluster from a snapshot
 * (Kubernetes' documented procedure): the API servers stopped, then etcd on
 * every master; every member's data restored (each master's data from
 * before set aside under the restore's token); etcd started on every master,
 * then the API servers. `db` is the snapshot: a move read back from a
 * journal has none, and is only ever taken back.
 *
 * Taken back from any step the same way, which is right at each of them:
 * the API servers and etcd stopped on every master (they may run: a failed
 * start leaves some up, and data must never change under a running etcd),
 * each master's data from before put back where this restore set it aside,
 * then etcd and the API servers started.
 */
export function restoreEtcd(db: Buffer | undefined): MoveKind<RestoreRecord> {
  return {
    build(ctx, state, record) {
      const { engine } = ctx;
      const { plan } = state;
      const steps: MoveStep[] = [
        {
          title: 'Stopping the API servers and etcd',
          async run() {
            await onMasters(engine, plan, ['systemctl', 'stop', ...CONTROL_PLANE_UNITS]);
            await onMasters(engine, plan, ['systemctl', 'stop', UNIT.etcd]);
          },
        },
        {
          title: `Restoring revision ${record.revision} on ${counted(plan.masters.length, 'master')}`,
          async run() {
            if (!db) throw new Error('internal: a restore read back from the journal has no snapshot to restore');
            await concurrently(plan.masters, async (master) => {
              await engine.copyFiles(master, [{ path: ETCD_SNAPSHOT_ON_NODE, content: db, mode: 0o600 }]);
              const restored = await engine.exec(master, ['/bin/sh', '-c', etcdRestoreScript(plan, master, record.token)]);
              if (restored.exitCode !== 0) throw new Error(`the snapshot could not become ${master.name}'s etcd data: ${(restored.stderr || restored.stdout).trim()}`);
            });
          },
        },
        {
          title: 'Starting etcd and the API servers',
          async run(note) {
            const api = hostApiOf(state, ctx.apiProbe);
            // Every member at once: each one's start waits for a quorum of the others.
            await onMasters(engine, plan, ['systemctl', 'start', UNIT.etcd]);
            await waitForEtcd({ engine, plan, deadline: ctx.deadline });
            await onMasters(engine, plan, ['systemctl', 'start', ...CONTROL_PLANE_UNITS]);
            await waitForApiServer(api, ctx.deadline);
            note(api.server);
          },
        },
      ];
      return {
        record,
        subject: `the etcd data of ${plan.masters.map((m) => m.name).join(', ')}`,
        steps,
        finishFrom: steps.length,
        async undo() {
          await onMasters(engine, plan, ['systemctl', 'stop', ...CONTROL_PLANE_UNITS]);
          await onMasters(engine, plan, ['systemctl', 'stop', UNIT.etcd]);
          await onMasters(engine, plan, ['/bin/sh', '-c', etcdUnrestoreScript(record.token)]);
          await onMasters(engine, plan, ['systemctl', 'start', UNIT.etcd]);
          await onMasters(engine, plan, ['systemctl', 'start', ...CONTROL_PLANE_UNITS]);
          return 'undone';
        },
        done: (s) => s,
        undone: (s) => s,
      };
    },
  };
}
