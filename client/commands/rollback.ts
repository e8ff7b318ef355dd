import type { Command } from 'commander';
import type { Config } from '../../worker/config.ts';
import { manualRollback } from '../../workflows/index.ts';
import { UserError } from '../cli-support.ts';
import { connectClient, workflowUiLink } from '../temporal-client.ts';

/** `warehouse rollback --to ISO-TIME --by NAME`: whole-warehouse Time Travel restore, then roll-forward. */
export function registerRollback(program: Command, loadConfig: () => Config): void {
  program
    .command('rollback')
    .description('restore the whole warehouse (D1 Time Travel) to before the last nightly run started at or before an instant, then replay every load since')
    .requiredOption('--to <iso-time>', 'the instant to restore, e.g. 2026-03-05T02:59:00+01:00')
    .requiredOption('--by <name>', 'who orders it (must be in APPROVERS)')
    .action(async (options: { to: string; by: string }) => {
      const instant = new Date(options.to);
      if (!/^\d{4}-\d{2}-\d{2}T/.test(options.to) || Number.isNaN(instant.getTime())) throw new UserError(`--to must be an ISO date-time such as 2026-03-05T02:59:00+01:00, got "${options.to}"`);
      const config = loadConfig();
      if (!config.approvers.includes(options.by)) throw new UserError(`refused: ${options.by} is not an approver (approvers: ${config.approvers.join(', ')})`);
      const { client, connection } = await connectClient(config);
      try {
        const workflowId = `rollback-${instant.toISOString().replace(/[:.]/g, '-')}`;
        const handle = await client.workflow.start(manualRollback, {
          workflowId,
          taskQueue: config.temporal.taskQueue,
          args: [{ to: instant.toISOString(), by: options.by, approvers: config.approvers }],
        });
        console.log(`rollback started by ${options.by}: ${workflowUiLink(config, workflowId)}`);
        const result = await handle.result();
        console.log(`restored to bookmark ${result.bookmark} (taken ${result.takenAt}, before the nightly run that followed); replayed ${result.replayed.length} loads: ${[...new Set(result.replayed.map((r) => r.businessDate))].join(', ') || 'none'}`);
      } finally {
        await connection.close();
      }
    });
}
