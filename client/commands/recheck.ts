import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/client';
import type { Command } from 'commander';
import type { Config } from '../../worker/config.ts';
import { recheck, recheckProgressQuery, recheckWorkflowId, type RecheckProgress } from '../../workflows/index.ts';
import { assertKnownTable, UserError } from '../cli-support.ts';
import { formatRecheck } from '../nightly.ts';
import { createProgress, whilePending } from '../progress.ts';
import { connectClient, workflowUiLink } from '../temporal-client.ts';
import { isIsoDate } from './run.ts';

/** `warehouse recheck --date D [--table T]`: the T-1 re-check of one earlier day. */
export function registerRecheck(program: Command, loadConfig: () => Config): void {
  program
    .command('recheck')
    .description("re-check an earlier day: each table whose export of that date changed in the inbox is rewound to before it and replayed through its latest loaded day")
    .requiredOption('--date <YYYY-MM-DD>', 'the business date Sodiwin re-exported')
    .option('--table <table>', 'only this table')
    .option('--json', 'print the result as JSON')
    .action(async (options: { date: string; table?: string; json?: boolean }) => {
      if (!isIsoDate(options.date)) throw new UserError(`--date must be a real date as YYYY-MM-DD, got "${options.date}"`);
      assertKnownTable(options.table);
      const config = loadConfig();
      const { client, connection } = await connectClient(config);
      try {
        const workflowId = recheckWorkflowId(options.date);
        const handle = await client.workflow.start(recheck, {
          workflowId,
          taskQueue: config.temporal.taskQueue,
          args: [{ businessDate: options.date, ...(options.table ? { tables: [options.table] } : {}) }],
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
          workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        });
        if (!options.json) console.log(`re-check started: ${workflowUiLink(config, workflowId)}`);
        const progress = createProgress({ quiet: options.json ?? false });
        const result = await whilePending(handle.result(), async () => progress.update(recheckProgressLine(options.date, await handle.query(recheckProgressQuery)))).finally(() => progress.end());
        console.log(options.json ? JSON.stringify(result, null, 2) : formatRecheck(result).join('\n'));
        if (result.rechecked.some((t) => t.replayed.some((d) => d.status === 'failed'))) process.exitCode = 2;
      } finally {
        await connection.close();
      }
    });
}

/** The re-check's progress line: the changed tables found, then the days replayed. */
export function recheckProgressLine(businessDate: string, progress: RecheckProgress): string {
  if (!progress.tablesChanged) return `re-check ${businessDate}: comparing the inbox's exports with the loaded files…`;
  if (progress.tablesChanged.length === 0) return `re-check ${businessDate}: no export changed`;
  return `re-check ${businessDate}: ${progress.tablesChanged.length} changed table(s) (${progress.tablesChanged.join(', ')}), ${progress.daysReplayed}/${progress.daysTotal} day(s) replayed`;
}
