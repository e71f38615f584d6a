import type { ClusterState, MoveRecord } from '../../../state/cluster-state.js';
import { joinNode } from './join.js';
import { leaveNode } from './leave.js';
import type { Move, MoveContext, MoveKind } from './move.js';
import { replaceNode } from './replace.js';
import { restoreEtcd } from './restore.js';

export { joinNode, leaveNode, replaceNode, restoreEtcd };
export type { Move, MoveContext, MoveKind, MoveStep, UndoOutcome } from './move.js';

/** A move the runner will make: its record, bound to its kind (so that moves of every kind go in one list). */
export interface PlannedMove {
  record: MoveRecord;
  begin(state: ClusterState): Promise<ClusterState>;
  build(ctx: MoveContext, state: ClusterState): Move;
}

export function planned<R extends MoveRecord>(kind: MoveKind<R>, record: R): PlannedMove {
  return {
    record,
    begin: (state) => kind.begin?.(state, record) ?? Promise.resolve(state),
    build: (ctx, state) => kind.build(ctx, state, record),
  };
}

/** The move a journal's record stands for, to settle it: finished or taken back, in a process other than the one that began it. */
export function moveOf(ctx: MoveContext, state: ClusterState, record: MoveRecord): Move {
  switch (record.kind) {
    case 'join':
      return joinNode.build(ctx, state, record);
    case 'leave':
      return leaveNode.build(ctx, state, record);
    case 'replace':
      return replaceNode.build(ctx, state, record);
    case 'restore':
      return restoreEtcd(undefined).build(ctx, state, record);
  }
}
