/**
 * The progress line of the long commands (rebuild, recheck, migrate, backfill --wait): redrawn in
 * place on stderr when stderr is a terminal, and nothing at all otherwise (a pipe, a log file,
 * cron) or with --json, so stdout keeps only the answer and a script sees no control characters.
 */

/** Where the line is drawn: process.stderr, or a fake terminal in a test. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/** One command's progress line. */
export interface Progress {
  /** True when lines are drawn (a terminal, not quiet). */
  readonly active: boolean;
  /** Replaces the line (cut to the terminal's width). */
  update(line: string): void;
  /** Clears the line, so what the command prints next starts on a clean line. Call it however the command ends. */
  end(): void;
}

/** Erases from the cursor to the end of the line (ANSI CSI K). */
const eraseLine = '\x1b[K';

/** A progress line on `stream` (default stderr); `quiet` (--json) draws nothing. */
export function createProgress(options: { quiet?: boolean; stream?: ProgressStream } = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const active = !options.quiet && stream.isTTY === true;
  let shown = '';
  return {
    active,
    update(line: string) {
      if (!active) return;
      const width = Math.max(20, (stream.columns || 80) - 1); // a terminal of unknown size answers 0
      const text = line.length > width ? `${line.slice(0, width - 1)}…` : line;
      if (text === shown) return;
      stream.write(`\r${text}${eraseLine}`);
      shown = text;
    },
    end() {
      if (!active || !shown) return;
      stream.write(`\r${eraseLine}`);
      shown = '';
    },
  };
}

/**
 * Resolves (or rejects) as `work` does, calling `tick` every `everyMs` meanwhile: a poll of the
 * progress to draw. A tick that fails is skipped (the next one tries again); `work` decides the outcome.
 */
export async function whilePending<T>(work: Promise<T>, tick: () => unknown, everyMs = 1000): Promise<T> {
  let settled = false;
  const done = work.finally(() => (settled = true));
  done.catch(() => undefined); // observed by the caller
  while (!settled) {
    await Promise.resolve()
      .then(tick)
      .catch(() => undefined);
    if (settled) break;
    await Promise.race([done.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, everyMs).unref())]);
  }
  return done;
}
