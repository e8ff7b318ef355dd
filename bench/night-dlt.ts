/**
 * The dlt side of bench/night.ts: the Python virtual environment (created once from PyPI), the
 * contracts exported for bench/dlt_night.py, and that script driven night by night over stdin.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tableContracts } from '../contracts/index.ts';
import { sodiwinDialect } from '../contracts/types.ts';

/** The dlt release measured (the newest on PyPI when this bench was written, 2026-12-02). */
export const dltVersion = '1.31.0';

const script = fileURLToPath(new URL('./dlt_night.py', import.meta.url));
const run = promisify(execFile);

/** What dlt_night.py answers for one night. */
export interface DltNight {
  date: string;
  /** Checking the 13 files plus pipeline.run. */
  seconds: number;
  checkSeconds: number;
  runSeconds: number;
  rows: Record<string, number>;
}

/** A running dlt_night.py. */
export interface DltRunner {
  pid: number;
  version: string;
  importSeconds: number;
  night(date: string): Promise<DltNight>;
  /** Ends stdin; the script answers its current rows per table and exits. */
  finish(): Promise<Record<string, number>>;
}

/**
 * The table contracts as the Python script reads them: written from contracts/ at every run,
 * so the two sides check the same rules.
 */
export async function writeContractsJson(path: string): Promise<void> {
  const tables = tableContracts.map((c) => ({ table: c.table, filePattern: c.filePattern, mode: c.mode, key: c.key, columns: c.columns.map((col) => ({ source: col.source, name: col.name, type: col.type, required: col.required })) }));
  await writeFile(path, JSON.stringify({ dialect: sodiwinDialect, tables }, null, 2));
}

/** `python3 -m venv DIR` and `pip install "dlt[sqlalchemy]==<dltVersion>"`, unless DIR already has that dlt. */
export async function ensureDltVenv(dir: string): Promise<string> {
  const python = join(dir, 'bin', 'python');
  if (existsSync(python)) {
    const { stdout } = await run(python, ['-c', 'import dlt; print(dlt.__version__)']).catch(() => ({ stdout: '' }));
    if (stdout.trim() === dltVersion) return python;
  }
  process.stderr.write(`creating ${dir} with dlt[sqlalchemy]==${dltVersion} from PyPI…\n`);
  await run('python3', ['-m', 'venv', dir]);
  await run(join(dir, 'bin', 'pip'), ['install', '--quiet', `dlt[sqlalchemy]==${dltVersion}`], { maxBuffer: 16 * 2 ** 20 });
  return python;
}

/** Starts dlt_night.py on the exports; resolves once dlt is imported and the pipeline made. */
export async function startDlt(options: { python: string; contractsJson: string; exportsDir: string; dbFile: string; pipelinesDir: string }): Promise<DltRunner> {
  const child = spawn(options.python, [script, options.contractsJson, options.exportsDir, options.dbFile, options.pipelinesDir], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const next = async <T>(): Promise<T> => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`dlt_night.py ended early (exit ${await exited})`);
    const answer = JSON.parse(value as string) as T & { rejected?: string };
    if (answer.rejected) throw new Error(`dlt_night.py rejected a file: ${answer.rejected}`);
    return answer;
  };
  const ready = await next<{ dlt: string; importSeconds: number }>();
  return {
    pid: child.pid!,
    version: ready.dlt,
    importSeconds: ready.importSeconds,
    night(date) {
      child.stdin.write(`${JSON.stringify({ date })}\n`);
      return next<DltNight>();
    },
    async finish() {
      child.stdin.end();
      const { current } = await next<{ current: Record<string, number> }>();
      const code = await exited;
      if (code !== 0) throw new Error(`dlt_night.py exited with code ${code}`);
      return current;
    },
  };
}
