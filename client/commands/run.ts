import type { Command } from 'commander';
import type { Config } from '../../worker/config.ts';
import { UserError } from '../cli-support.ts';
import { formatNightProgress, readNightProgress } from '../night-progress.ts';
import { formatNightlySummary, startNightly } from '../nightly.ts';
import { connectClient, workflowUiLink } from '../temporal-client.ts';

/** `warehouse run --date D [--wait | --progress]`: start (or attach to) nightly-<date>, or say where it stands. */
export function registerRun(program: Command, loadConfig: () => Config): void {
  program
    .command('run')
    .description('start (or attach to) the nightly run of one business date')
    .requiredOption('--date <YYYY-MM-DD>', 'business date of the exports to load')
    .option('--wait', 'wait for the run to finish and print its summary')
    .option('--progress', 'start nothing: print where the run stands, per table the stage reached, rows and what it waits for')
    .option('--json', 'with --wait or --progress: print JSON')
    .action(async (options: { date: string; wait?: boolean; progress?: boolean; json?: boolean }) => {
      if (!isIsoDate(options.date)) throw new UserError(`--date must be a real date as YYYY-MM-DD, got "${options.date}"`);
      if (options.wait && options.progress) throw new UserError('--wait and --progress do not go together: --progress starts nothing');
      const config = loadConfig();
      const { client, connection } = await connectClient(config);
      try {
        if (options.progress) {
          const progress = await readNightProgress(client, options.date);
          console.log(options.json ? JSON.stringify(progress, null, 2) : formatNightProgress(progress));
          return;
        }
        const handle = await startNightly(client, config, options.date);
        if (!options.wait) {
          console.log(`started ${handle.workflowId}: ${workflowUiLink(config, handle.workflowId)}`);
          return;
        }
        const summary = await handle.result();
        console.log(options.json ? JSON.stringify(summary, null, 2) : formatNightlySummary(summary));
        if (summary.status !== 'ok') process.exitCode = 2;
      } finally {
        await connection.close();
      }
    });
}

/** True for a calendar date written YYYY-MM-DD. */
export function isIsoDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text);
}
