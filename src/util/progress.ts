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
}

export type Verbosity = 'quiet' | 'normal' | 'verbose';

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`;
}

function label(title: string, detail: string | undefined): string {
  return detail ? `${title} (${detail})` : title;
}

/** Spinners on a terminal; plain lines elsewhere (CI logs), so every step is still visible. */
export function createProgress(verbosity: Verbosity = 'normal', stream: NodeJS.WriteStream = process.stderr): Progress {
  if (verbosity === 'quiet') return silentProgress;
  const interactive = Boolean(stream.isTTY) && !process.env.CI;
  return {
    async step(title, work) {
      const started = Date.now();
      let detail: string | undefined;
      let spinner: Ora | undefined;
      if (interactive) spinner = ora({ text: title, stream }).start();
      else stream.write(` • ${title} ...\n`);
      const note: StepNote = (text) => {
        detail = text;
        if (spinner) spinner.text = label(title, detail);
      };
      try {
        const result = await work(note);
        const line = `${label(title, detail)} ${seconds(Date.now() - started)}`;
        if (spinner) spinner.succeed(line);
        else stream.write(` ✓ ${line}\n`);
        return result;
      } catch (error) {
        const line = `${label(title, detail)} ${seconds(Date.now() - started)}`;
        if (spinner) spinner.fail(line);
        else stream.write(` ✗ ${line}\n`);
        throw error;
      }
    },
    info(line) {
      stream.write(`${line}\n`);
    },
    detail(line) {
      if (verbosity === 'verbose') stream.write(`   ${line}\n`);
    },
  };
}

export const silentProgress: Progress = {
  step: (_title, work) => work(() => undefined),
  info: () => undefined,
  detail: () => undefined,
};
