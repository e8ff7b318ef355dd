import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { Command } from 'commander';
import { rollbackModes, type RollbackMode } from '../../common/approval-statement.ts';
import type { Config } from '../../worker/config.ts';
import { approveRollbackUpdate, incidentStateQuery, type IncidentState } from '../../workflows/index.ts';
import { readSigningKey, refusal, signApproval } from '../approval-signing.ts';
import { UserError } from '../cli-support.ts';
import { connectClient, workflowUiLink } from '../temporal-client.ts';

/**
 * `warehouse approve INCIDENT [--mode rewind|time-travel] [--key FILE] [--wait]`: signs a
 * statement binding the incident, the mode and the evidence shown (table, business date,
 * the quarantined file's sha256) with the approver's key, and sends it as an Update: the
 * worker answers accepted (under the key owner's name) or refused, with the reason.
 */
export function registerApprove(program: Command, loadConfig: () => Config): void {
  program
    .command('approve')
    .description("approve the rollback and roll-forward of an incident, signed with your approver key")
    .argument('<incident>', 'incident id, e.g. incident-orders-2026-03-04')
    .option('--mode <mode>', 'rewind (this table, by load ids) or time-travel (whole warehouse to the bookmark before the bad night)', 'rewind')
    .option('--key <file>', 'your private approver key (default: APPROVER_KEY, else ~/.config/sodimo-warehouse/approver.key)')
    .option('--wait', 'wait until the repair has finished')
    .action(async (incidentId: string, options: { mode: string; key?: string; wait?: boolean }) => {
      if (!rollbackModes.includes(options.mode as RollbackMode)) throw new UserError(`--mode must be rewind or time-travel, got "${options.mode}"`);
      const mode = options.mode as RollbackMode;
      const config = loadConfig();
      const signer = await readSigningKey(config, options.key);
      const { client, connection } = await connectClient(config);
      try {
        const handle = client.workflow.getHandle(incidentId);
        const before = await handle.query(incidentStateQuery).catch(() => {
          throw new UserError(`no running incident "${incidentId}" (see \`warehouse incidents\`)`);
        });
        if (before.status === 'resolved') throw new UserError(`${incidentId} is already resolved`);
        const { evidence } = before;
        console.log(`signing with ${signer.fingerprint}: ${mode} repair of ${incidentId} (${evidence.table} ${evidence.businessDate}, file sha256 ${evidence.sha256 ?? 'none: the export was missing'})`);
        const approval = { ...signApproval(config, signer, { action: 'approve-incident', target: incidentId, mode, evidence }), mode };
        const what = `the ${mode} repair of ${incidentId}`;
        const outcome = await handle.executeUpdate(approveRollbackUpdate, { args: [approval] }).catch((error: unknown) => {
          if (error instanceof WorkflowUpdateFailedError) throw refusal(what, error.cause?.message ?? error.message);
          throw error;
        });
        if (!outcome.accepted) throw refusal(what, outcome.reason ?? 'no reason given');
        console.log(`accepted: ${outcome.approver} approved the ${mode} repair of ${incidentId}; follow it at ${workflowUiLink(config, incidentId)}`);
        if (!options.wait) return;
        const done = await poll(() => handle.query(incidentStateQuery), (s) => s.status === 'resolved' || (s.status === 'open' && s.lastRepairError !== before.lastRepairError), 3_600_000);
        if (done.status === 'resolved') console.log(`resolved: replayed ${done.replayed.join(', ')}`);
        else throw new UserError(`the repair did not complete, the incident is open again: ${done.lastRepairError}`);
      } finally {
        await connection.close();
      }
    });
}

async function poll(read: () => Promise<IncidentState>, done: (s: IncidentState) => boolean, timeoutMs: number): Promise<IncidentState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await read();
    if (done(state)) return state;
    if (Date.now() > deadline) throw new UserError('the incident did not answer in time; check the worker is running');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
