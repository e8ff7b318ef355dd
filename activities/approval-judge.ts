import { z } from 'zod';
import { maxStatementLifetimeMs, statementSchema, type ApprovalStatement, type ExpectedApproval, type SignedApproval } from '../common/approval-statement.ts';
import { verifyStatement, type ApproverKey } from './approver-keys.ts';

/** Clock skew tolerated between the approver's machine and the worker. */
const clockSkewMs = 2 * 60_000;

/** The verdict on a signed approval, before the nonce is checked against what was already used. */
export type ApprovalVerdict =
  | { valid: true; approver: string; fingerprint: string; statement: ApprovalStatement }
  | { valid: false; reason: string; approver?: string; fingerprint?: string; statement?: ApprovalStatement };

/**
 * Judges a signed approval against the worker's own list of keys: the signing key must be
 * listed, the signature must verify over the exact statement, and the statement must be for
 * this warehouse, this action and target, this mode and this evidence, and still fresh.
 * The approver's name is the key's. Pure apart from the signature check.
 */
export function judgeApproval(input: { approval: SignedApproval; expected: ExpectedApproval; keys: readonly ApproverKey[]; warehouse: string; now: Date }): ApprovalVerdict {
  const { approval, expected, keys } = input;
  let json: unknown;
  try {
    json = JSON.parse(approval.statement);
  } catch {
    return { valid: false, reason: 'the statement is not JSON' };
  }
  const parsed = statementSchema.safeParse(json);
  if (!parsed.success) return { valid: false, reason: `the statement is not an approval statement (${z.prettifyError(parsed.error).replace(/\s+/g, ' ').slice(0, 200)})` };
  const statement = parsed.data;
  const signer = keys.find((k) => k.fingerprint === statement.key);
  if (!signer) return { valid: false, reason: `key ${statement.key} is not one of the worker's approver keys`, statement };
  if (!verifyStatement(signer.key, approval.statement, approval.signature)) {
    return { valid: false, reason: `the signature does not verify with ${signer.name}'s key ${signer.fingerprint}`, statement };
  }
  const who = { approver: signer.name, fingerprint: signer.fingerprint, statement };
  const mismatch = (what: string, signed: unknown, wanted: unknown) => ({ valid: false as const, reason: `signed for ${what} ${JSON.stringify(signed)}, not ${JSON.stringify(wanted)}`, ...who });
  if (statement.warehouse !== input.warehouse) return mismatch('warehouse', statement.warehouse, input.warehouse);
  if (statement.action !== expected.action) return mismatch('action', statement.action, expected.action);
  if (statement.target !== expected.target) return mismatch('target', statement.target, expected.target);
  if (statement.mode !== approval.mode) return mismatch('mode', statement.mode, approval.mode);
  for (const field of ['table', 'businessDate', 'sha256'] as const) {
    if (statement.evidence[field] !== expected.evidence[field]) return mismatch(`evidence ${field}`, statement.evidence[field], expected.evidence[field]);
  }
  const issued = Date.parse(statement.issuedAt);
  const expires = Date.parse(statement.expiresAt);
  const now = input.now.getTime();
  if (expires <= issued || expires - issued > maxStatementLifetimeMs) return { valid: false, reason: `the statement's validity (${statement.issuedAt} to ${statement.expiresAt}) is not between 0 and 60 minutes`, ...who };
  if (issued > now + clockSkewMs) return { valid: false, reason: `the statement is issued in the future (${statement.issuedAt})`, ...who };
  if (now > expires) return { valid: false, reason: `the statement expired at ${statement.expiresAt}`, ...who };
  return { valid: true, ...who };
}
