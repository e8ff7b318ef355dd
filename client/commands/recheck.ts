import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/client';
import type { Command } from 'commander';
import type { Config } from '../../worker/config.ts';
import { recheck, recheckWorkflowId } from '../../workflows/index.ts';
import { assertKnownTable, UserError } from '../cli-support.ts';
import { formatRecheck } from '../nightly.ts';
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
        const result = await handle.result();
        console.log(options.json ? JSON.stringify(result, null, 2) : formatRecheck(result).join('\n'));
        if (result.rechecked.some((t) => t.replayed.some((d) => d.status === 'failed'))) process.exitCode = 2;
      } finally {
        await connection.close();
      }
    });
}
