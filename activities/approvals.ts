import { log } from '@temporalio/activity';
import type { ApprovalStatement, ExpectedApproval, RollbackMode, SignedApproval } from '../common/approval-statement.ts';
import { judgeApproval, type ApprovalVerdict } from './approval-judge.ts';
import type { ApproverKey } from './approver-keys.ts';
import type { D1Client } from '../d1/client.ts';
import type { ApprovalOutcome } from '../workflows/approval-messages.ts';

/** What judging and recording approvals needs: D1, and the worker's own list of approver keys. */
export interface ApprovalDeps {
  d1: Pick<D1Client, 'query' | 'batch'>;
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
  async function recorded(decisionId: string): Promise<ApprovalOutcome | undefined> {
    const [rows] = await deps.d1.query<ApprovalRow>('SELECT decision_key, accepted, reason, approver, key_fingerprint, mode FROM etl_approvals WHERE decision_key = ?', [decisionId]);
    const row = rows?.results[0];
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
      const row = {
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
      const insert = (r: typeof row) => {
        const columns = Object.keys(r);
        return { sql: `INSERT INTO etl_approvals (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`, params: Object.values(r) };
      };
      const markApproved = {
        sql: `UPDATE etl_incidents SET status = 'approved', approved_by = ?, rollback_mode = ? WHERE incident_id = ? AND status IN ('open', 'approved')
              AND EXISTS (SELECT 1 FROM etl_approvals WHERE decision_key = ? AND accepted = 1)`,
        params: [row.approver, mode, expected.target, input.decisionId],
      };
      await deps.d1.batch(row.accepted && expected.action === 'approve-incident' ? [insert(row), markApproved] : [insert(row)]);
      let outcome = await recorded(input.decisionId);
      if (!outcome) {
        // Nothing was inserted although the decision id is new: the nonce was consumed by an earlier decision.
        await deps.d1.batch([insert({ ...row, accepted: 0, nonce_consumed: 0, reason: `the statement's nonce ${row.nonce} was already used: a replayed approval` })]);
        outcome = await recorded(input.decisionId);
      }
      if (!outcome) throw new Error(`the decision ${input.decisionId} could not be recorded in etl_approvals`);
      log.info('approval decided', { decisionId: input.decisionId, action: expected.action, target: expected.target, accepted: outcome.accepted, approver: outcome.approver, reason: outcome.reason });
      return outcome;
    },

    /** Records a parity sign-off an accepted approval allowed; its facts are the ones the approver signed. Idempotent. */
    async recordParitySignOff(input: { decisionId: string; query: string }): Promise<{ signedBy: string; signedAt: string }> {
      const [rows] = await deps.d1.query<{ approval_id: number; approver: string; decided_at: string; evidence_table: string; evidence_business_date: string | null; evidence_sha256: string; statement: string }>(
        "SELECT approval_id, approver, decided_at, evidence_table, evidence_business_date, evidence_sha256, statement FROM etl_approvals WHERE decision_key = ? AND accepted = 1 AND action = 'parity-signoff'",
        [input.decisionId],
      );
      const approval = rows?.results[0];
      if (!approval) throw new Error(`no accepted approval ${input.decisionId} to sign off with`);
      // The facts are read from the statement whose signature was verified, not from the caller.
      const facts = (JSON.parse(approval.statement) as ApprovalStatement).facts;
      await deps.d1.query(
        `INSERT INTO etl_parity_signoffs (table_name, query_name, signed_by, signed_at, result, differences, rows_compared, sodiwin_file, sodiwin_sha256, loaded_through, approval_id)
         VALUES (?, ?, ?, ?, 'match', 0, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        [approval.evidence_table, input.query, approval.approver, approval.decided_at, Number(facts.rowsCompared ?? 0), String(facts.sodiwinFile ?? ''), approval.evidence_sha256, approval.evidence_business_date, approval.approval_id],
      );
      return { signedBy: approval.approver, signedAt: approval.decided_at };
    },
  };
};
