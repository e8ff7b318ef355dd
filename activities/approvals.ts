import { log } from '@temporalio/activity';
import type { ApprovalStatement, ExpectedApproval, RollbackMode, SignedApproval } from '../common/approval-statement.ts';
import { judgeApproval, type ApprovalVerdict } from './approval-judge.ts';
import type { ApproverKey } from './approver-keys.ts';
import type { D1Client } from '../d1/client.ts';
import type { ApprovalRecord } from '../history/control/approvals.ts';
import { createControlStore } from './control-store.ts';
import type { ApprovalOutcome } from '../workflows/approval-messages.ts';

/** What judging and recording approvals needs: D1, and the worker's own list of approver keys. */
export interface ApprovalDeps {
  d1: Pick<D1Client, 'query' | 'batch' | 'first'>;
  /** The only source of who may approve: the keys in the worker's configuration. */
  approverKeys: readonly ApproverKey[];
  /** `<account>/<database>`: a statement signed for another warehouse does not count here. */
  warehouseId: string;
}

/** One approval to decide and record. */
export interface DecideApprovalInput {
  /** Unique per message (`<workflow id>/<sequence>`): recording is exactly once, however often the activity runs. */
  decisionId: string;
  expected: ExpectedApproval;
  /** The signed approval, or why its payload was malformed (a refusal to record as such). */
  approval: SignedApproval | { malformed: string; mode?: unknown };
  /** Set when the workflow refuses whatever the signature says (e.g. already approved). */
  refuse?: string;
}

interface ApprovalRow {
  decision_key: string;
  accepted: number;
  reason: string | null;
  approver: string | null;
  key_fingerprint: string | null;
  mode: RollbackMode | null;
}

const asOutcome = (row: ApprovalRow): ApprovalOutcome => ({
  decisionId: row.decision_key,
  accepted: row.accepted === 1,
  ...(row.approver ? { approver: row.approver } : {}),
  ...(row.key_fingerprint ? { fingerprint: row.key_fingerprint } : {}),
  ...(row.mode ? { mode: row.mode } : {}),
  ...(row.reason ? { reason: row.reason } : {}),
});

/** Approvals: judged against the worker's keys, recorded once in etl_approvals, kept through a restore. */
export const createApprovalActivities = (deps: ApprovalDeps) => {
  const store = createControlStore(deps.d1);
  async function recorded(decisionId: string): Promise<ApprovalOutcome | undefined> {
    const row = await store.approvals.byKey<ApprovalRow>(decisionId);
    return row ? asOutcome(row) : undefined;
  }

  return {
    /**
     * Judges one approval and records the decision: accepted only when a listed key signed
     * this very action, target, mode and evidence, freshly, with a nonce never used before.
     * Idempotent by decision id; the answer is what was recorded.
     */
    async decideApproval(input: DecideApprovalInput): Promise<ApprovalOutcome> {
      const already = await recorded(input.decisionId);
      if (already) return already;
      const { expected } = input;
      const mode = 'malformed' in input.approval ? null : input.approval.mode;
      const verdict: ApprovalVerdict = 'malformed' in input.approval
        ? { valid: false as const, reason: `malformed approval: ${input.approval.malformed}` }
        : judgeApproval({ approval: input.approval, expected, keys: deps.approverKeys, warehouse: deps.warehouseId, now: new Date() });
      const statement: ApprovalStatement | undefined = verdict.statement;
      const refusal = !verdict.valid ? verdict.reason : input.refuse;
      const row: ApprovalRecord = {
        decision_key: input.decisionId,
        action: expected.action,
        target: expected.target,
        mode,
        accepted: refusal ? 0 : 1,
        reason: refusal ?? null,
        approver: verdict.approver ?? null,
        key_fingerprint: verdict.fingerprint ?? null,
        evidence_table: expected.evidence.table,
        evidence_business_date: expected.evidence.businessDate,
        evidence_sha256: expected.evidence.sha256,
        nonce: statement?.nonce ?? null,
        // A verified signature consumes its nonce, whatever the decision: the statement can never count again.
        nonce_consumed: verdict.valid ? 1 : 0,
        statement: 'malformed' in input.approval ? null : input.approval.statement,
        signature: 'malformed' in input.approval ? null : input.approval.signature,
        decided_at: new Date().toISOString(),
      };
      await store.approvals.record(row, row.accepted === 1 && expected.action === 'approve-incident');
      let outcome = await recorded(input.decisionId);
      if (!outcome) {
        // Nothing was inserted although the decision id is new: the nonce was consumed by an earlier decision.
        await store.approvals.record({ ...row, accepted: 0, nonce_consumed: 0, reason: `the statement's nonce ${row.nonce} was already used: a replayed approval` }, false);
        outcome = await recorded(input.decisionId);
      }
      if (!outcome) throw new Error(`the decision ${input.decisionId} could not be recorded in etl_approvals`);
      log.info('approval decided', { decisionId: input.decisionId, action: expected.action, target: expected.target, accepted: outcome.accepted, approver: outcome.approver, reason: outcome.reason });
      return outcome;
    },

    /** Records a parity sign-off an accepted approval allowed; its facts are the ones the approver signed. Idempotent. */
    async recordParitySignOff(input: { decisionId: string; query: string }): Promise<{ signedBy: string; signedAt: string }> {
      const approval = await store.approvals.acceptedParity(input.decisionId);
      if (!approval) throw new Error(`no accepted approval ${input.decisionId} to sign off with`);
      // The facts are read from the statement whose signature was verified, not from the caller.
      const facts = (JSON.parse(approval.statement) as ApprovalStatement).facts;
      await store.signoffs.record({
        table: approval.evidence_table, query: input.query, signedBy: approval.approver, signedAt: approval.decided_at, rowsCompared: Number(facts.rowsCompared ?? 0),
        sodiwinFile: String(facts.sodiwinFile ?? ''), sodiwinSha256: approval.evidence_sha256, loadedThrough: approval.evidence_business_date, approvalId: approval.approval_id,
      });
      return { signedBy: approval.approver, signedAt: approval.decided_at };
    },
  };
};
