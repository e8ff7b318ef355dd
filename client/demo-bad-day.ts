import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import iconv from 'iconv-lite';
import { contractFor } from '../contracts/index.ts';
import { exportFileName } from '../contracts/types.ts';
import type { Config } from '../worker/config.ts';
import { approveRollbackSignal, incidentStateQuery, incidentWorkflowId, type IncidentState } from '../workflows/index.ts';
import { signApproval, type SigningKey } from './approval-signing.ts';

/** The demo's bad day: Sodiwin's orders export of that date carries an unknown order status on one line. */
export const demoBadTable = 'orders';

/** Drops a corrupt orders file for the date in the inbox (the generated one stays as the "corrected" export). */
export async function dropCorruptExport(inbox: string, businessDate: string): Promise<void> {
  const path = join(inbox, exportFileName(contractFor(demoBadTable), businessDate));
  const text = iconv.decode(await readFile(path), 'win1252');
  await writeFile(path, iconv.encode(text.replace(/;VALIDEE;/, ';EN_ATTENTE;'), 'win1252'));
}

/** Sodiwin sends the corrected export: the generated file goes back in the inbox. */
export async function dropCorrectedExport(exportsDir: string, inbox: string, businessDate: string): Promise<void> {
  const file = exportFileName(contractFor(demoBadTable), businessDate);
  await copyFile(join(exportsDir, file), join(inbox, file));
}

/** Waits for the incident to reach a state (its workflow runs on the demo's worker). */
export async function incidentWhen(client: Client, businessDate: string, done: (state: IncidentState) => boolean): Promise<IncidentState> {
  const handle = client.workflow.getHandle(incidentWorkflowId(demoBadTable, businessDate));
  for (let waited = 0; ; waited += 250) {
    const state = await handle.query(incidentStateQuery).catch(() => undefined);
    if (state && done(state)) return state;
    if (waited > 600_000) throw new Error(`incident ${handle.workflowId} did not get there in 10 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** What the operator sees once the bad night is over: the incident and where the alert is. */
export function describeIncident(state: IncidentState): string {
  return [
    `  !! ${state.table} ${state.businessDate} quarantined (${state.errorType}); incident ${state.incidentId} opened`,
    `     ${state.message.split(' (quarantined in')[0]}`,
    `     alert to Paul: ${state.alertFile ? `written to ${state.alertFile} (no SMTP_URL configured)` : 'sent by SMTP'}`,
  ].join('\n');
}

/**
 * Paul signs the rewind of the bad day's incident with his key and sends it as the
 * approveRollback signal (what `warehouse approve` sends as an Update); waits for the repair.
 */
export async function approveAndRepair(client: Client, config: Pick<Config, 'd1'>, businessDate: string, signer: SigningKey): Promise<string> {
  const handle = client.workflow.getHandle(incidentWorkflowId(demoBadTable, businessDate));
  const before = await handle.query(incidentStateQuery);
  console.log(`Paul approves, signing with his key ${signer.fingerprint}: warehouse approve ${handle.workflowId} --mode rewind`);
  const approval = signApproval(config, signer, { action: 'approve-incident', target: handle.workflowId, mode: 'rewind', evidence: before.evidence });
  await handle.signal(approveRollbackSignal, { ...approval, mode: 'rewind' });
  const state = await incidentWhen(client, businessDate, (s) => s.status === 'resolved' || s.refusals.length > before.refusals.length || s.lastRepairError !== undefined);
  const refusal = state.refusals[before.refusals.length];
  if (refusal) return `  refused: ${refusal.reason}; the incident stays open (approve it with \`warehouse approve ${handle.workflowId}\` and an approver key)`;
  if (state.status !== 'resolved') return `  the repair did not complete: ${state.lastRepairError}`;
  return `  approved by ${state.approval?.by} (${state.approval?.fingerprint}); ${demoBadTable} rewound and replayed for ${state.replayed.join(', ')}; incident resolved`;
}
