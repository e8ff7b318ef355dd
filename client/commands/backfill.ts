import type { Command } from 'commander';
import { createD1Client } from '../../d1/client.ts';
import type { Config } from '../../worker/config.ts';
import { duration, thousands } from '../backfill-progress.ts';
import { followBackfill, startBackfill } from '../backfill.ts';
import { UserError } from '../cli-support.ts';
import { formatTable } from '../format-table.ts';
import { createProgress } from '../progress.ts';
import { connectClient, workflowUiLink } from '../temporal-client.ts';

/**
 * `warehouse backfill --dump DIR [--wait]`: load Sodiwin's historical dump, with a progress bar
 * (on a terminal, on stderr: client/progress.ts); attaches to a running backfill.
 */
export function registerBackfill(program: Command, loadConfig: () => Config): void {
  program
    .command('backfill')
    .description("load Sodiwin's historical dump (its MANIFEST_DUMP_<yyyymmdd>.csv names the files) through D1's import API; run it again to reattach")
    .requiredOption('--dump <dir>', 'the dump directory, as the worker sees it')
    .option('--wait', 'follow the backfill until it ends, with a progress bar (rows/s, ETA) on stderr when it is a terminal')
    .option('--chunk-rows <n>', 'rows per import file', (v) => positiveInteger(v, '--chunk-rows'))
    .option('--json', 'with --wait: print the result as JSON instead of the progress bar')
    .action(async (options: { dump: string; wait?: boolean; chunkRows?: number; json?: boolean }) => {
      const config = loadConfig();
      const { client, connection } = await connectClient(config);
      try {
        const started = await startBackfill(client, config, options.dump, options.chunkRows ? { chunkRows: options.chunkRows } : {});
        const { plan } = started;
        const what = `${started.workflowId}: ${plan.parts.length} files, ${thousands(plan.rowsTotal)} rows as of ${plan.asOf}`;
        if (!options.json) console.log(`${started.attached ? 'attached to the running backfill' : 'backfill started'} ${what}\n  ${workflowUiLink(config, started.workflowId)}`);
        if (!options.wait) {
          if (!options.json) console.log(`follow it with: warehouse backfill --dump ${options.dump} --wait`);
          return;
        }
        const d1 = createD1Client(config.d1);
        const startedAt = Date.now();
        const progress = createProgress({ quiet: options.json ?? false });
        const result = await followBackfill(started, d1, (line) => progress.update(line))
          .catch((error: unknown) => {
            throw new UserError(`backfill ${started.workflowId} failed: ${rootCause(error)}`);
          })
          .finally(() => progress.end());
        if (options.json) return console.log(JSON.stringify(result, null, 2));
        const seconds = (Date.now() - startedAt) / 1000;
        console.log(formatTable(['table', 'files', 'rows'], result.tables.map((t) => [t.table, t.files, thousands(t.rows)])));
        console.log(
          `backfill done: ${thousands(result.rows)} rows as of ${result.asOf} in ${duration(seconds * 1000)}` +
            (started.attached ? ' (since attaching)' : ` (${thousands(Math.round(result.rows / Math.max(seconds, 1)))} rows/s)`) +
            (result.chunksSkipped ? `; ${result.chunksSkipped} chunk(s) were already in D1 and skipped` : ''),
        );
      } finally {
        await connection.close();
      }
    });
}

function positiveInteger(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${option} must be a positive whole number, got "${value}"`);
  return n;
}

/** The innermost cause of a workflow failure, with its type: what went wrong, not "Workflow execution failed". */
function rootCause(error: unknown): string {
  let current = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  if (!(current instanceof Error)) return String(current);
  const type = (current as { type?: unknown }).type;
  return typeof type === 'string' ? `${type}: ${current.message}` : current.message;
}
