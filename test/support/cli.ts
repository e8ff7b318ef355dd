import { spawn } from 'node:child_process';
import { cliEntry } from '../../client/cli-support.ts';

/** What a `warehouse` process printed and how it exited. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const warehouseVariable = /^(TEMPORAL_|D1_|CLOUDFLARE_|WAREHOUSE_|SMTP_|ALERT_)/;

/**
 * Runs the `warehouse` CLI as a separate process, as an operator would. The
 * process sees only the warehouse settings given here, never the caller's.
 * `entry`: another release's client/cli.ts (test/workflows/upgrade.test.ts); default this one's.
 */
export function runWarehouse(args: string[], env: Record<string, string>, timeoutMs = 300_000, entry = cliEntry): Promise<CliRun> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !warehouseVariable.test(key)));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry, ...args], { env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`warehouse ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A word quoted for a POSIX shell. */
const shellQuote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/**
 * Runs the `warehouse` CLI on a terminal, as an operator at a console does: `script` (util-linux)
 * gives it a pseudo-terminal for stdin, stdout and stderr. What it wrote comes back as one text,
 * both streams merged, with the terminal's CRLF line ends turned back into LF (a lone CR, a
 * progress line redrawn, stays).
 */
export function runWarehouseOnTerminal(args: string[], env: Record<string, string>, timeoutMs = 300_000): Promise<{ code: number | null; output: string }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !warehouseVariable.test(key)));
  const command = [process.execPath, cliEntry, ...args].map(shellQuote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-q', '-e', '-f', '-c', command, '/dev/null'], { env: { ...inherited, ...env, COLUMNS: '200', TERM: 'xterm' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`warehouse ${args.join(' ')} (on a terminal) did not finish in ${timeoutMs} ms\n${output}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output: output.replace(/\r\n/g, '\n') });
    });
  });
}
