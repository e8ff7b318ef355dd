import { z } from 'zod';
import { approvalActions, rollbackModes, type ApprovalAction, type RollbackMode } from './approval-terms.ts';

/**
 * What an approver signs: the action, its target, the evidence they saw and a fresh nonce,
 * for one warehouse, valid for minutes. The signature covers the statement's exact bytes
 * (the JSON text as sent), so nothing needs canonicalising; the worker parses what it verified.
 */

export { approvalActions, rollbackModes, type ApprovalAction, type RollbackMode } from './approval-terms.ts';

/** Marks the bytes as a warehouse approval, so a signature made for anything else never verifies as one. */
export const statementPurpose = 'sodimo-warehouse approval v1';
/** The longest a statement may stay valid. */
export const maxStatementLifetimeMs = 60 * 60_000;
/** How long the CLI makes a statement valid for. */
export const defaultStatementLifetimeMs = 10 * 60_000;

const isoInstant = z.iso.datetime({ offset: true });
/** The shape of a statement; the worker parses what it verified with it. */
export const statementSchema = z.strictObject({
  purpose: z.literal(statementPurpose),
  /** `<account>/<database>` of the warehouse the approval is for. */
  warehouse: z.string().min(1).max(200),
  action: z.enum(approvalActions),
  /** The incident id, the rollback instant, or `<table>/<query>` of a parity sign-off. */
  target: z.string().min(1).max(200),
  mode: z.enum(rollbackModes).nullable(),
  /** What the approver saw: the table, the business date and the sha256 of the file in question. */
  evidence: z.strictObject({
    table: z.string().max(64).nullable(),
    businessDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).nullable(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
  }),
  /** Further facts the approver attests (a parity sign-off's row count and file name). */
  facts: z.record(z.string().max(64), z.union([z.string().max(500), z.number()])).default({}),
  /** The signing key's fingerprint (`SHA256:…`). */
  key: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/),
  nonce: z.string().regex(/^[0-9a-f]{32}$/),
  issuedAt: isoInstant,
  expiresAt: isoInstant,
});

/** A parsed approval statement. */
export type ApprovalStatement = z.output<typeof statementSchema>;

/** The statement text to sign: JSON, fields in a fixed order. */
export function writeStatement(statement: ApprovalStatement): string {
  return JSON.stringify(statementSchema.parse(statement));
}

/** What the worker expects an approval of this action to say. */
export interface ExpectedApproval {
  action: ApprovalAction;
  target: string;
  evidence: { table: string | null; businessDate: string | null; sha256: string | null };
}

/** An approval as it arrives: the mode asked for, the statement text and its base64 signature. */
export interface SignedApproval {
  mode: RollbackMode | null;
  statement: string;
  signature: string;
}

