import { describe, expect, it } from 'vitest';
import { createProgress, whilePending, type ProgressStream } from '../../client/progress.ts';

/** A stream that records what was written, a terminal or not. */
function fakeStream(isTTY: boolean, columns = 40): ProgressStream & { written: string } {
  return {
    isTTY,
    columns,
    written: '',
    write(text: string) {
      this.written += text;
      return true;
    },
  };
}

describe('the progress line of the long commands', () => {
  it('on a terminal: each update redraws the one line in place, cut to the width; end clears it', () => {
    const tty = fakeStream(true, 30);
    const progress = createProgress({ stream: tty });
    expect(progress.active).toBe(true);
    progress.update('replaying 1/40 loads');
    progress.update('replaying 1/40 loads'); // unchanged: nothing redrawn
    progress.update('replaying 2/40 loads, the last one of them customers 2028-06-03');
    progress.end();
    expect(tty.written).toBe('\rreplaying 1/40 loads\x1b[K' + '\rreplaying 2/40 loads, the la…\x1b[K' + '\r\x1b[K');
    expect(tty.written).not.toContain('\n');
  });

  it('not a terminal (a pipe, a log, cron), or quiet (--json): nothing is written at all', () => {
    for (const [stream, quiet] of [[fakeStream(false), false], [fakeStream(true), true]] as const) {
      const progress = createProgress({ stream, quiet });
      expect(progress.active).toBe(false);
      progress.update('replaying 1/40 loads');
      progress.end();
      expect(stream.written).toBe('');
    }
  });

  it('end without an update writes nothing', () => {
    const tty = fakeStream(true);
    createProgress({ stream: tty }).end();
    expect(tty.written).toBe('');
  });

  it('whilePending ticks while the work runs, stops when it ends, and gives its result or its failure', async () => {
    let ticks = 0;
    const result = await whilePending(new Promise((resolve) => setTimeout(() => resolve('done'), 60)), () => ticks++, 10);
    expect(result).toBe('done');
    expect(ticks).toBeGreaterThanOrEqual(2);
    const after = ticks;
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(ticks).toBe(after);

    // A tick that fails is skipped; the work's own failure is what the caller gets.
    const failing = whilePending(new Promise((_, reject) => setTimeout(() => reject(new Error('replay failed')), 30)), () => Promise.reject(new Error('poll failed')), 5);
    await expect(failing).rejects.toThrow('replay failed');
  });
});
