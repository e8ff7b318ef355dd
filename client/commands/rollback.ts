import type { Command } from 'commander';
import type { Config } from '../../worker/config.ts';
import { manualRollback } from '../../workflows/index.ts';
import { readSigningKey, refusalOf, signApproval } from '../approval-signing.ts';
import { UserError } from '../cli-support.ts';
import { connectClient, workflowUiLink } from '../temporal-client.ts';

/** `warehouse rollback --to ISO-TIME [--key FILE]`: whole-warehouse Time Travel restore, then roll-forward, signed with the approver's key. */
export function registerRollback(program: Command, loadConfig: () => Config): void {
  program
    .command('rollback')
    .description('restore the whole warehouse (D1 Time Travel) to before the last nightly run started at or before an instant, then replay every load since')
    .requiredOption('--to <iso-time>', 'the instant to restore, e.g. 2026-03-05T02:59:00+01:00')
    .option('--key <file>', 'your private approver key (default: APPROVER_KEY, else ~/.config/sodimo-warehouse/approver.key)')
    .action(async (options: { to: string; key?: string }) => {
      const instant = new Date(options.to);
      if (!/^\d{4}-\d{2}-\d{2}T/.test(options.to) || Number.isNaN(instant.getTime())) throw new UserError(`--to must be an ISO date-time such as 2026-03-05T02:59:00+01:00, got "${options.to}"`);
      const config = loadConfig();
      const signer = await readSigningKey(config, options.key);
      const to = instant.toISOString();
      const approval = { ...signApproval(config, signer, { action: 'manual-rollback', target: to, mode: 'time-travel', evidence: { table: null, businessDate: null, sha256: null } }), mode: 'time-travel' as const };
      const { client, connection } = await connectClient(config);
      try {
        const workflowId = `rollback-${instant.toISOString().replace(/[:.]/g, '-')}`;
        const handle = await client.workflow.start(manualRollback, {
          workflowId,
          taskQueue: config.temporal.taskQueue,
          args: [{ to, approval }],
        });
        console.log(`rollback to ${to} signed with ${signer.fingerprint}: ${workflowUiLink(config, workflowId)}`);
        const result = await handle.result().catch((error: unknown) => {
          throw refusalOf(error, `rollback to ${to}`);
        });
        console.log(`approved by ${result.approvedBy}`);
        console.log(`restored to bookmark ${result.bookmark} (taken ${result.takenAt}, before the nightly run that followed); replayed ${result.replayed.length} loads: ${[...new Set(result.replayed.map((r) => r.businessDate))].join(', ') || 'none'}`);
      } finally {
        await connection.close();
      }
    });
}
