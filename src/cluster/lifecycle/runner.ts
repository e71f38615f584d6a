import { saveState, type ClusterState, type MoveRecord } from '../../state/cluster-state.js';
import { messageOf } from '../../util/errors.js';
import { isInterruption, stopIfInterrupted } from '../../util/interrupt.js';
import { moveOf, type Move, type MoveContext, type PlannedMove } from './moves/index.js';

/**
 * The one runner of membership moves (moves/). Each move's steps run one
 * after the other, each a progress line, and the move's record in the
 * cluster's state (its journal) is written before each step and after it:
 * a kc that stops anywhere (a failure, Ctrl-C, a crash) leaves the state
 * saying which move was under way and how far it got. A failed move is
 * taken back in place when it can be; the final message is built from what
 * each move came to. The next command on the cluster settles a move that
 * was left (settleJournal): finishes it, or takes it back.
 */

/** What the moves of one command share: what every move works with, and the command as the user would type it again (the journal names it). */
export interface RunContext extends MoveContext {
  command: string;
}

/** One move a command wants, named before it starts; `make` plans it from the state as it is by then (and may refuse, changing nothing). */
export interface NextMove {
  subject: string;
  make(state: ClusterState): Promise<PlannedMove>;
}

/** What a move came to: done; taken back; left in the journal for the next command; never begun. */
export type MoveOutcome = 'done' | 'undone' | 'left' | 'not-started';

export interface MoveReport {
  subject: string;
  outcome: MoveOutcome;
  /** A left move whose undo failed: what failed. */
  undoFailure?: string;
}

/** How a command tells what its moves did: the verb in the past ("added"), and the command that makes those that did not happen. */
export interface ChangeWords {
  past: string;
  retry(subjects: readonly string[]): string | undefined;
}

/** The command's moves stopped part-way: the step and its cause, what each move came to, and what to run now. */
export class ChangeStoppedError extends Error {
  constructor(
    readonly step: string | undefined,
    cause: unknown,
    readonly reports: readonly MoveReport[],
    readonly cluster: string,
    words: ChangeWords,
  ) {
    super(stoppedMessage(step, cause, reports, cluster, words), { cause });
    this.name = 'ChangeStoppedError';
  }

  /** The user interrupted the command (Ctrl-C): no failure of kc's or the cluster's. */
  get interrupted(): boolean {
    return isInterruption(this.cause);
  }
}

/** A journal kc could not settle: the command it belongs to, what failed, and the ways out. */
export class SettleError extends Error {
  constructor(command: string, subject: string, step: string, cause: unknown, cluster: string) {
    super(
      `\`${command}\` stopped part-way (its change to ${subject}, at "${step}"), and settling that failed: ${messageOf(cause)}\n` +
        `kc keeps its record of the change: once the cause is fixed, any kc command that changes cluster "${cluster}" settles it first ` +
        `(\`kc start cluster --name ${cluster}\` does only that); \`kc delete cluster --name ${cluster}\` removes the cluster with it.`,
      { cause },
    );
    this.name = 'SettleError';
  }
}

/** Inside the runner: a move that stopped, the state as it was left, what it came to, at which step and why. */
class MoveStopped extends Error {
  constructor(
    readonly state: ClusterState,
    readonly outcome: 'undone' | 'left',
    readonly step: string | undefined,
    cause: unknown,
    readonly undoFailure?: string,
  ) {
    super(`${step ?? 'a move'} stopped: ${messageOf(cause)}`, { cause });
    this.name = 'MoveStopped';
  }
}

function withoutJournal(state: ClusterState): ClusterState {
  const { journal: _settled, ...rest } = state;
  return rest;
}

/** The state with the move's record as it stands, written: the journal's entry before or after a step. */
async function journaled(state: ClusterState, record: MoveRecord): Promise<ClusterState> {
  if (!state.journal) throw new Error('internal: a move runs without a journal');
  const next = { ...state, journal: { ...state.journal, move: { ...record } } };
  await saveState(next);
  return next;
}

/**
 * Runs a command's moves in order. Returns the state after the last; a move
 * that stops ends the command with a ChangeStoppedError that says what every
 * move came to, the ones after it never begun.
 */
export async function runMoves(ctx: RunContext, from: ClusterState, moves: readonly NextMove[], words: ChangeWords): Promise<ClusterState> {
  let state = from;
  const reports: MoveReport[] = moves.map((m) => ({ subject: m.subject, outcome: 'not-started' }));
  for (const [index, next] of moves.entries()) {
    const report = reports[index] as MoveReport;
    try {
      stopIfInterrupted(ctx.deadline.signal);
      const plannedMove = await next.make(state);
      const begun = await plannedMove.begin(state);
      state = { ...begun, journal: { command: ctx.command, startedAt: new Date().toISOString(), move: { ...plannedMove.record } } };
      await saveState(state);
      state = await drive(ctx, state, plannedMove.build(ctx, state), 0, true);
      report.outcome = 'done';
    } catch (error) {
      // Refused before it began (a quorum check, say): as it is when nothing changed yet, else with what the others came to.
      if (!(error instanceof MoveStopped)) {
        if (index === 0) throw error;
        throw new ChangeStoppedError(undefined, error, reports, from.plan.spec.name, words);
      }
      report.outcome = error.outcome;
      if (error.undoFailure !== undefined) report.undoFailure = error.undoFailure;
      throw new ChangeStoppedError(error.step, error.cause, reports, from.plan.spec.name, words);
    }
  }
  return state;
}

/**
 * Runs a move's steps from `from`, journaling each before and after. Done:
 * the state with the move applied, the journal gone. Stopped: a MoveStopped,
 * after taking the move back where it may (`mayUndo`, and before its point
 * of no return; not after Ctrl-C, which leaves the journal for the next
 * command) or finishing it where taking it back came too late.
 */
async function drive(ctx: MoveContext, from: ClusterState, move: Move, first: number, mayUndo: boolean): Promise<ClusterState> {
  let state = from;
  const record = move.record;
  let at = first;
  try {
    for (; at < move.steps.length; at += 1) {
      const step = move.steps[at] as Move['steps'][number];
      stopIfInterrupted(ctx.deadline.signal);
      state = await journaled(state, Object.assign(record, { step: at, stepDone: false }));
      await ctx.progress.step(step.title, (note) => step.run(note));
      state = await journaled(state, Object.assign(record, { stepDone: true }));
    }
  } catch (cause) {
    const title = move.steps[at]?.title;
    if (isInterruption(cause) || !mayUndo || at >= move.finishFrom) throw new MoveStopped(state, 'left', title, cause);
    let outcome;
    try {
      outcome = await ctx.progress.step(`Taking back the change to ${move.subject}`, () => move.undo());
    } catch (undoError) {
      throw new MoveStopped(state, 'left', title, cause, messageOf(undoError));
    }
    if (outcome === 'too-late') return drive(ctx, state, move, at, false);
    const undone = withoutJournal(move.undone(state));
    await saveState(undone);
    throw new MoveStopped(undone, 'undone', title, cause);
  }
  const done = withoutJournal(move.done(state));
  await saveState(done);
  return done;
}

/** What settling a journal did: which command's move, and whether it was finished or taken back. */
export interface Settled {
  command: string;
  subject: string;
  record: MoveRecord;
  outcome: 'done' | 'undone';
}

/**
 * Settles the move a stopped command left in the journal, before anything
 * else changes the cluster: finished from the step it stopped at (past its
 * point of no return, or when taking it back came too late), or taken back.
 * Nothing to settle: the state as it is.
 */
export async function settleJournal(ctx: MoveContext, state: ClusterState): Promise<{ state: ClusterState; settled?: Settled }> {
  const journal = state.journal;
  if (!journal) return { state };
  const record = journal.move;
  const move = moveOf(ctx, state, record);
  const at = move.steps[record.step]?.title ?? 'its start';
  const finishing = record.step >= move.finishFrom;
  ctx.progress.info(`\`${journal.command}\` stopped part-way (at "${at}"): ${finishing ? 'finishing' : 'taking back'} its change to ${move.subject} first`);
  const settled = (outcome: Settled['outcome']): Settled => ({ command: journal.command, subject: move.subject, record, outcome });
  try {
    if (!finishing) {
      const outcome = await ctx.progress.step(`Taking back the change to ${move.subject}`, () => move.undo());
      if (outcome === 'undone') {
        const undone = withoutJournal(move.undone(state));
        await saveState(undone);
        return { state: undone, settled: settled('undone') };
      }
    }
    const resumeAt = record.stepDone ? record.step + 1 : record.step;
    return { state: await drive(ctx, state, move, resumeAt, false), settled: settled('done') };
  } catch (error) {
    const stopped = error instanceof MoveStopped ? error : undefined;
    throw new SettleError(journal.command, move.subject, stopped?.step ?? at, stopped ? stopped.cause : error, state.plan.spec.name);
  }
}

/** "a", "a and b", "a, b and c". */
function listed(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1) ?? ''}`;
}

const was = (names: readonly string[]) => (names.length === 1 ? 'was' : 'were');

/** Pure: the message of a command whose moves stopped, built from what each came to. */
export function stoppedMessage(step: string | undefined, cause: unknown, reports: readonly MoveReport[], cluster: string, words: ChangeWords): string {
  const first = isInterruption(cause)
    ? `${messageOf(cause).replace(/^./, (c) => c.toUpperCase())}${step ? ` during "${step}"` : ''}: kc stopped at a safe point.`
    : step
      ? `${step} failed: ${messageOf(cause)}`
      : messageOf(cause);
  const of = (outcome: MoveOutcome) => reports.filter((r) => r.outcome === outcome).map((r) => r.subject);
  const [done, undone, notStarted] = [of('done'), of('undone'), of('not-started')];
  const left = reports.filter((r) => r.outcome === 'left');
  if (done.length === 0 && left.length === 0 && undone.length > 0) {
    return `${first}\nEverything this command changed was taken back: the cluster is as it was.`;
  }
  const parts = [
    done.length > 0 ? `${listed(done)} ${was(done)} ${words.past}` : '',
    undone.length > 0 ? `${listed(undone)} ${was(undone)} not ${words.past} (what ${undone.length === 1 ? 'it' : 'they'} changed was taken back)` : '',
    ...left.map((r) =>
      r.undoFailure !== undefined
        ? `${r.subject} was not ${words.past}, and taking the change back failed: ${r.undoFailure}`
        : `${r.subject} is part-way ${words.past}`,
    ),
    notStarted.length > 0 ? `${listed(notStarted)} ${was(notStarted)} not ${words.past}` : '',
  ].filter(Boolean);
  const rest = reports.filter((r) => r.outcome !== 'done').map((r) => r.subject);
  const retry = rest.length > 0 ? words.retry(rest) : undefined;
  const hint = left.length > 0
    ? `kc recorded where ${listed(left.map((r) => r.subject))} stopped: ${retry ? `\`${retry}\` settles that first (finishing or taking it back), then goes on; ` : ''}\`kc start cluster --name ${cluster}\` settles it alone.`
    : retry
      ? `Run \`${retry}\` for the rest.`
      : '';
  return [first, `${parts.join('; ')}.`, hint].filter(Boolean).join('\n');
}
