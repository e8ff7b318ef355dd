import type { D1Param } from '../../d1/client.ts';
import type { ControlStatement } from './statement.ts';

/**
 * etl_approvals and etl_parity_signoffs: every decision that needs an approver, recorded once
 * (by decision key; a consumed nonce cannot be recorded twice), and the sign-offs an accepted
 * parity approval allowed. Pure builders.
 */

/** One decision as etl_approvals records it. */
export interface ApprovalRecord {
  decision_key: string;
  action: string;
  target: string;
  mode: string | null;
  accepted: 0 | 1;
  reason: string | null;
  approver: string | null;
  key_fingerprint: string | null;
  evidence_table: string | null;
  evidence_business_date: string | null;
  evidence_sha256: string | null;
  nonce: string | null;
  nonce_consumed: 0 | 1;
  statement: string | null;
  signature: string | null;
  decided_at: string;
}

const approvalColumns = [
  'decision_key', 'action', 'target', 'mode', 'accepted', 'reason', 'approver', 'key_fingerprint', 'evidence_table',
  'evidence_business_date', 'evidence_sha256', 'nonce', 'nonce_consumed', 'statement', 'signature', 'decided_at',
] as const satisfies readonly (keyof ApprovalRecord)[];

/** A decision recorded, unless its key (or its consumed nonce) is already there. */
export function insertApprovalStatement(record: ApprovalRecord): ControlStatement {
  return {
    sql: `INSERT INTO etl_approvals (${approvalColumns.join(', ')}) VALUES (${approvalColumns.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`,
    params: approvalColumns.map((c): D1Param => record[c]),
  };
}

/** The decision recorded under a key, as the approval's answer reads it. */
export function approvalQuery(decisionKey: string): ControlStatement {
  return { sql: 'SELECT decision_key, accepted, reason, approver, key_fingerprint, mode FROM etl_approvals WHERE decision_key = ?', params: [decisionKey] };
}

/** Legacy: a decision of the name-based approvals that came before signed ones. */
export function insertLegacyDecisionStatement(input: { decisionKey: string; incidentId: string; mode: string | null; accepted: boolean; reason: string | null; by: string; now: string }): ControlStatement {
  return {
    sql: `INSERT INTO etl_approvals (decision_key, action, target, mode, accepted, reason, approver, decided_at)
                VALUES (?, 'approve-incident', ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    params: [input.decisionKey, input.incidentId, input.mode, input.accepted ? 1 : 0, input.reason, input.by, input.now],
  };
}

/** An accepted parity approval as its sign-off reads it. */
export interface ParityApprovalRow {
  approval_id: number;
  approver: string;
  decided_at: string;
  evidence_table: string;
  evidence_business_date: string | null;
  evidence_sha256: string;
  statement: string;
}

/** The accepted parity-signoff approval recorded under a key. */
export function acceptedParityApprovalQuery(decisionKey: string): ControlStatement {
  return {
    sql: "SELECT approval_id, approver, decided_at, evidence_table, evidence_business_date, evidence_sha256, statement FROM etl_approvals WHERE decision_key = ? AND accepted = 1 AND action = 'parity-signoff'",
    params: [decisionKey],
  };
}

/** A sign-off of the parity gate (one per approval). */
export function insertSignOffStatement(input: { table: string; query: string; signedBy: string; signedAt: string; rowsCompared: number; sodiwinFile: string; sodiwinSha256: string; loadedThrough: string | null; approvalId: number }): ControlStatement {
  return {
    sql: `INSERT INTO etl_parity_signoffs (table_name, query_name, signed_by, signed_at, result, differences, rows_compared, sodiwin_file, sodiwin_sha256, loaded_through, approval_id)
         VALUES (?, ?, ?, ?, 'match', 0, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    params: [input.table, input.query, input.signedBy, input.signedAt, input.rowsCompared, input.sodiwinFile, input.sodiwinSha256, input.loadedThrough, input.approvalId],
  };
}
