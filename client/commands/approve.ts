import type { Command } from 'commander';
import type { Config } from '../../worker/config.ts';
import { approveRollbackSignal, incidentStateQuery, type IncidentState, type RollbackMode } from '../../workflows/index.ts';
import { UserError } from '../cli-support.ts';
import { connectClient, workflowUiLink } from '../temporal-client.ts';

const modes: RollbackMode[] = ['rewind', 'time-travel'];

/**
 * `warehouse approve INCIDENT --by NAME [--mode rewind|time-travel] [--wait]`: sends the
 * approveRollback signal, then reads the incident back to say whether it was accepted.
 */
export function registerApprove(program: Command, loadConfig: () => Config): void {
  program
    .command('approve')
    .description('approve the rollback and roll-forward of an incident (approvers only)')
    .argument('<incident>', 'incident id, e.g. incident-orders-2026-03-04')
    .requiredOption('--by <name>', 'who approves (must be in APPROVERS)')
    .option('--mode <mode>', 'rewind (this table, by load ids) or time-travel (whole warehouse to the bookmark before the bad night)', 'rewind')
    .option('--wait', 'wait until the repair has finished')
    .action(async (incidentId: string, options: { by: string; mode: string; wait?: boolean }) => {
      if (!modes.includes(options.mode as RollbackMode)) throw new UserError(`--mode must be rewind or time-travel, got "${options.mode}"`);
      const config = loadConfig();
      const { client, connection } = await connectClient(config);
      try {
        const handle = client.workflow.getHandle(incidentId);
        const before = await handle.query(incidentStateQuery).catch(() => {
          throw new UserError(`no running incident "${incidentId}" (see \`warehouse incidents\`)`);
        });
        if (before.status === 'resolved') throw new UserError(`${incidentId} is already resolved`);
        await handle.signal(approveRollbackSignal, { by: options.by, mode: options.mode as RollbackMode });
        const after = await poll(() => handle.query(incidentStateQuery), (s) => s.refusals.length > before.refusals.length || s.approval?.by === options.by || s.status !== 'open');
        const refusal = after.refusals.slice(before.refusals.length).find((r) => r.by === options.by);
        if (refusal) throw new UserError(`refused: ${refusal.reason}`);
        console.log(`accepted: ${options.by} approved the ${options.mode} repair of ${incidentId}; follow it at ${workflowUiLink(config, incidentId)}`);
        if (!options.wait) return;
        const done = await poll(() => handle.query(incidentStateQuery), (s) => s.status === 'resolved' || (s.status === 'open' && s.lastRepairError !== before.lastRepairError), 3_600_000);
        if (done.status === 'resolved') console.log(`resolved: replayed ${done.replayed.join(', ')}`);
        else throw new UserError(`the repair did not complete, the incident is open again: ${done.lastRepairError}`);
      } finally {
        await connection.close();
      }
    });
}

async function poll(read: () => Promise<IncidentState>, done: (s: IncidentState) => boolean, timeoutMs = 30_000): Promise<IncidentState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await read();
    if (done(state)) return state;
    if (Date.now() > deadline) throw new UserError('the incident did not answer in time; check the worker is running');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
