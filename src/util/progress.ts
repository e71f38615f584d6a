import ora, { type Ora } from 'ora';

/** Lets a running step say more about itself, e.g. "cached" or "built from source". */
export type StepNote = (detail: string) => void;

export interface Progress {
  /** Runs one named step, shown as one line with a check mark and its time. */
  step<T>(title: string, work: (note: StepNote) => Promise<T>): Promise<T>;
  /** A plain line between steps. */
  info(line: string): void;
  /** What a step is doing in detail (files, units, nodes): shown with -v/--verbose only. */
  detail(line: string): void;
  /**
   * Progress for the parts of the step running now (say, each artifact of a
   * node image build inside "Ensuring node image"): their lines show indented
   * under it.
   */
  nested(): Progress;
}

export type Verbosity = 'quiet' | 'normal' | 'verbose';

export interface ProgressOptions {
  /**
   * When not on a terminal, a step running longer than this says it is still
   * running, once per period (a source build takes minutes: CI logs must not
   * go silent). On a terminal the spinner line shows the elapsed time instead.
   */
  heartbeatMs?: number;
}

export function seconds(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 120_000) return `${Math.round(ms / 1000)}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}

function label(title: string, detail: string | undefined): string {
  return detail ? `${title} (${detail})` : title;
}

/** What every level of one progress shares: the stream, and the spinner on it, if one spins. */
interface Screen {
  stream: NodeJS.WriteStream;
  interactive: boolean;
  verbosity: Verbosity;
  heartbeatMs: number;
  /** The spinner of the innermost running step on a terminal, and its line without the ticking time. */
  spinner?: { ora: Ora; label: () => string };
  /** Running plain steps, innermost last: only the innermost says it is still running. */
  running: symbol[];
}

/** Writes a whole line without tearing a spinning line apart. */
function writeLine(screen: Screen, line: string): void {
  const spinner = screen.spinner?.ora;
  if (spinner?.isSpinning) {
    spinner.clear();
    screen.stream.write(`${line}\n`);
    spinner.render();
  } else {
    screen.stream.write(`${line}\n`);
  }
}

/** Spinners on a terminal; plain lines elsewhere (CI logs), so every step is still visible. */
export function createProgress(
  verbosity: Verbosity = 'normal',
  stream: NodeJS.WriteStream = process.stderr,
  options: ProgressOptions = {},
): Progress {
  if (verbosity === 'quiet') return silentProgress;
  const screen: Screen = {
    stream,
    interactive: Boolean(stream.isTTY) && !process.env.CI,
    verbosity,
    heartbeatMs: options.heartbeatMs ?? 60_000,
    running: [],
  };
  return levelProgress(screen, 0);
}

function levelProgress(screen: Screen, indent: number): Progress {
  const pad = ' '.repeat(indent);
  return {
    step: (title, work) => (screen.interactive ? spinnerStep(screen, indent, title, work) : plainStep(screen, pad, title, work)),
    // Nested lines align with the text of the steps around them.
    info: (line) => writeLine(screen, indent > 0 ? `${pad} ${line}` : line),
    detail(line) {
      if (screen.verbosity === 'verbose') writeLine(screen, `${pad}   ${line}`);
    },
    nested: () => nestedProgress(screen, indent + 2),
  };
}

/**
 * The parent's spinner cannot stay on its line while lines appear below it:
 * the first nested line leaves it as a plain `•` line (its text as it was);
 * the parent's check mark comes at the end, under its parts.
 */
function nestedProgress(screen: Screen, indent: number): Progress {
  const inner = levelProgress(screen, indent);
  // Made inside the parent step's work: the spinner spinning now is the parent's.
  const parent = screen.spinner;
  const releaseParent = () => {
    if (parent?.ora.isSpinning) parent.ora.stopAndPersist({ symbol: '•', text: parent.label() });
  };
  return {
    step(title, work) {
      releaseParent();
      return inner.step(title, work);
    },
    info(line) {
      releaseParent();
      inner.info(line);
    },
    detail(line) {
      if (screen.verbosity !== 'verbose') return;
      releaseParent();
      inner.detail(line);
    },
    nested: () => nestedProgress(screen, indent + 2),
  };
}

async function spinnerStep<T>(screen: Screen, indent: number, title: string, work: (note: StepNote) => Promise<T>): Promise<T> {
  const started = Date.now();
  let detail: string | undefined;
  const parent = screen.spinner;
  // A prefix rather than ora's `indent`: the indent then survives on every line ora writes.
  const prefixText = indent > 0 ? ' '.repeat(indent - 1) : '';
  const spinner = ora({ text: title, stream: screen.stream, prefixText }).start();
  screen.spinner = { ora: spinner, label: () => label(title, detail) };
  const render = () => {
    if (spinner.isSpinning) spinner.text = `${label(title, detail)} ${seconds(Date.now() - started)}`;
  };
  // The elapsed time ticks on the spinner line: a long step is visibly alive.
  const ticker = setInterval(render, 1000);
  ticker.unref();
  const finalLine = () => `${label(title, detail)} ${seconds(Date.now() - started)}`;
  try {
    const result = await work((text) => {
      detail = text;
      render();
    });
    spinner.succeed(finalLine());
    return result;
  } catch (error) {
    spinner.fail(finalLine());
    throw error;
  } finally {
    clearInterval(ticker);
    screen.spinner = parent;
  }
}

async function plainStep<T>(screen: Screen, pad: string, title: string, work: (note: StepNote) => Promise<T>): Promise<T> {
  const started = Date.now();
  let detail: string | undefined;
  screen.stream.write(`${pad} • ${title} ...\n`);
  const self = Symbol(title);
  screen.running.push(self);
  const heartbeat = setInterval(() => {
    if (screen.running.at(-1) !== self) return;
    screen.stream.write(`${pad}   ${label(title, detail)}: still running, ${seconds(Date.now() - started)}\n`);
  }, screen.heartbeatMs);
  heartbeat.unref();
  const finalLine = () => `${label(title, detail)} ${seconds(Date.now() - started)}`;
  try {
    const result = await work((text) => {
      detail = text;
    });
    screen.stream.write(`${pad} ✓ ${finalLine()}\n`);
    return result;
  } catch (error) {
    screen.stream.write(`${pad} ✗ ${finalLine()}\n`);
    throw error;
  } finally {
    clearInterval(heartbeat);
    screen.running.splice(screen.running.indexOf(self), 1);
  }
}

export const silentProgress: Progress = {
  step: (_title, work) => work(() => undefined),
  info: () => undefined,
  detail: () => undefined,
  nested: () => silentProgress,
};
