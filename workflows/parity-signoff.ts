import { ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { shortActivity } from './activity-profiles.ts';
import { approvalPayloadProblem } from './approval-messages.ts';

const { decideApproval, recordParitySignOff } = proxyActivities<Activities>(shortActivity);

/** `warehouse parity --sign-off`: the comparison the approver saw, and their signature of it. */
export interface ParitySignOffInput {
  table: string;
  query: string;
  /** The Sodiwin screen export's sha256 and the business date D1 was loaded through. */
  sodiwinSha256: string;
  loadedThrough: string | null;
  /** The signed statement (action parity-signoff, target `<table>/<query>`, no mode) and its signature. */
  approval: { mode: null; statement: string; signature: string };
}

/** Who signed off, verified by the worker. */
export interface ParitySignOffResult {
  signedBy: string;
  signedAt: string;
}

/**
 * Records a parity sign-off once a key on the worker's list has signed it: the decision
 * (accepted or refused) goes to etl_approvals, the sign-off to etl_parity_signoffs under the
 * key owner's name, with the facts the approver signed.
 */
export async function paritySignOff(input: ParitySignOffInput): Promise<ParitySignOffResult> {
  const decisionId = `${workflowInfo().workflowId}/${workflowInfo().runId}`;
  const problem = approvalPayloadProblem(input.approval, [null]);
  const outcome = await decideApproval({
    decisionId,
    expected: { action: 'parity-signoff', target: `${input.table}/${input.query}`, evidence: { table: input.table, businessDate: input.loadedThrough, sha256: input.sodiwinSha256 } },
    approval: problem ? { malformed: problem } : { mode: null, statement: input.approval.statement, signature: input.approval.signature },
  });
  if (!outcome.accepted) throw ApplicationFailure.create({ type: 'ApprovalRefused', message: `sign-off of ${input.table} (${input.query}) refused: ${outcome.reason}`, nonRetryable: true });
  return recordParitySignOff({ decisionId, query: input.query });
}
