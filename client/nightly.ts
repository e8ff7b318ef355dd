import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import type { Config } from '../worker/config.ts';
import { nightlyRun, nightlyWorkflowId, type NightlySummary, type RecheckResult } from '../workflows/index.ts';

/** The workflow id of a business date's nightly run (defined with the other ids in workflows/messages.ts). */
export { nightlyWorkflowId };

/** Starts nightly-<date>, or attaches to it if it is already running. */
export async function startNightly(client: Client, config: Config, businessDate: string) {
  return client.workflow.start(nightlyRun, {
    workflowId: nightlyWorkflowId(businessDate),
    taskQueue: config.temporal.taskQueue,
    args: [{ businessDate, maxParallel: config.load.maxParallel, recheckDays: config.load.recheckDays }],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
  });
}

/** A night's summary as the operator reads it. */
export function formatNightlySummary(summary: NightlySummary): string {
  const lines = [`${summary.businessDate}  ${summary.status.toUpperCase()}  (bookmark ${summary.bookmark})`];
  for (const r of summary.rechecked ?? []) lines.push(...formatRecheck(r).map((line) => `  ${line}`));
  for (const t of summary.tables) {
    if (t.status === 'failed') lines.push(`  ${t.table.padEnd(14)} FAILED     ${t.errorType}: ${t.message}`);
    else if (t.status === 'deferred') lines.push(`  ${t.table.padEnd(14)} DEFERRED   ${String(t.rowsRead).padStart(7)} rows archived, held back by ${t.heldBy}`);
    else if (t.status === 'unchanged') lines.push(`  ${t.table.padEnd(14)} unchanged  (this file is already loaded)`);
    else lines.push(`  ${t.table.padEnd(14)} loaded     ${String(t.rowsRead).padStart(7)} rows  +${t.versionsInserted} versions, ${t.versionsClosed} closed${t.tombstones ? `, ${t.tombstones} tombstones` : ''}`);
  }
  return lines.join('\n');
}

/** What a re-check of an earlier day did, one line per table. */
export function formatRecheck(result: RecheckResult): string[] {
  const lines = [`re-check of ${result.businessDate}: ${result.rechecked.length ? `${result.rechecked.length} corrected export(s)` : 'no export changed since it was loaded'}`];
  for (const t of result.rechecked) lines.push(`  ${t.table.padEnd(14)} rewound and replayed: ${t.replayed.map((d) => `${d.businessDate} ${d.status}${d.errorType ? ` (${d.errorType})` : ''}`).join(', ')}`);
  for (const s of result.skipped) lines.push(`  ${s.table.padEnd(14)} skipped: ${s.reason}`);
  return lines;
}
