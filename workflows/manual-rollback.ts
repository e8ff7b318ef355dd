import { ApplicationFailure, patched, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { etlStatusKey } from '../common/search-attributes.ts';
import { shortActivity } from './activity-profiles.ts';
import { signedApprovalsPatch } from './approval-messages.ts';
import { restoreKeepingAuditTrail } from './audit-restore.ts';
import { withWarehouseLease } from './lease-holder.ts';
import { approvalPayloadProblem, type ApprovalPayload } from './messages.ts';
import { replayLoads } from './replay-loads.ts';

const { rollbackPoint, restoreWarehouse, decideApproval } = proxyActivities<Activities>(shortActivity);

/** `warehouse rollback --to ISO-TIME`, signed with the approver's key. */
export interface ManualRollbackInput {
  /** Restore the warehouse as it was when the last nightly run started at or before this instant (ISO 8601, UTC). */
  to: string;
  /** The approver's signed statement for this rollback (action manual-rollback, target `to`, mode time-travel). */
  approval?: ApprovalPayload;
  /** Legacy (histories before signed approvals): a typed name and a list of names. Never trusted. */
  by?: string;
  approvers?: string[];
}

/** What the manual rollback restored and replayed. */
export interface ManualRollbackResult {
  bookmark: string;
  /** When that bookmark was taken (the start of the nightly run it precedes). */
  takenAt: string;
  replayed: { table: string; businessDate: string }[];
  /** Who approved it: the owner of the key that signed the statement. */
  approvedBy?: string;
}

/**
 * The whole-warehouse procedure by hand: restore D1 (Time Travel) to the bookmark taken
 * before the last nightly run that started at or before `to`, keeping the audit trail, then
 * roll forward through every load made since, in date order. It starts only once a key on
 * the worker's list has signed it; a refusal is recorded and ends the workflow. Once signed,
 * it waits for the warehouse lease, exclusive: the loads running end first, later ones wait.
 */
export async function manualRollback(input: ManualRollbackInput): Promise<ManualRollbackResult> {
  const { workflowId, runId } = workflowInfo();
  const signed = patched(signedApprovalsPatch);
  let approvedBy: string | undefined;
  if (signed) {
    const problem = approvalPayloadProblem(input.approval);
    const outcome = await decideApproval({
      decisionId: `${workflowId}/${runId}`,
      expected: { action: 'manual-rollback', target: input.to, evidence: { table: null, businessDate: null, sha256: null } },
      approval: problem ? { malformed: problem } : input.approval!,
    });
    if (!outcome.accepted) throw ApplicationFailure.create({ type: 'ApprovalRefused', message: `rollback to ${input.to} refused: ${outcome.reason}`, nonRetryable: true });
    approvedBy = outcome.approver;
  } else if (!(input.approvers ?? []).includes(input.by ?? '')) {
    throw ApplicationFailure.create({ type: 'NotAnApprover', message: `${input.by} is not an approver (approvers: ${(input.approvers ?? []).join(', ')})`, nonRetryable: true });
  }
  upsertSearchAttributes([{ key: etlStatusKey, value: 'rollback-running' }]);
  // Exclusive from choosing the point to the last replay: no load runs on a warehouse being replaced or half rolled forward.
  const { bookmark, takenAt, replayed } = await withWarehouseLease('exclusive', { resumeStatus: 'rollback-running' }, () => restoreAndReplay(input, signed, workflowId));
  upsertSearchAttributes([{ key: etlStatusKey, value: 'rollback-done' }]);
  return { bookmark, takenAt, replayed, ...(approvedBy ? { approvedBy } : {}) };
}

/** The restore to the rollback point, then the roll-forward of every load since, in date order. */
async function restoreAndReplay(input: ManualRollbackInput, signed: boolean, workflowId: string): Promise<Omit<ManualRollbackResult, 'approvedBy'>> {
  const { bookmark, takenAt, replay: replayed } = await rollbackPoint({ instant: input.to });
  if (signed) await restoreKeepingAuditTrail({ bookmark, takenAt });
  else await restoreWarehouse({ bookmark });
  const report = await replayLoads(replayed, {
    releasedChildId: ({ table, businessDate }) => `${workflowId}-${businessDate}-${table}`,
    input: ({ table, businessDate }) => ({ table, businessDate, runId: workflowId }),
    released: 'abandon',
  });
  if (report.failed[0]) throw report.failed[0].error;
  return { bookmark, takenAt, replayed };
}
