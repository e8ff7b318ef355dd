import { defineSignal, defineUpdate } from '@temporalio/workflow';
import type { SignedApproval } from '../common/approval-statement.ts';
import { rollbackModes, type RollbackMode } from '../common/approval-terms.ts';

/**
 * The approval messages an incident accepts, and the check every payload passes before
 * anything else looks at it. Pure: shared by the workflows, the CLI and the tests.
 */

/**
 * Patch marker of signed approvals. Histories recorded before it approved by a typed name;
 * they replay through the legacy branches, and whatever runs after the upgrade, including
 * a new message to an incident opened before it, goes through the signed path.
 */
export const signedApprovalsPatch = 'signed-approvals';

/** What an approval carries: the mode, the signed statement and its signature. */
export type ApprovalPayload = SignedApproval & { mode: RollbackMode };

/** What an approval came to: accepted (by the key's owner) or refused, with the reason. */
export interface ApprovalOutcome {
  decisionId: string;
  accepted: boolean;
  /** The verified owner of the signing key, when the signature verified. */
  approver?: string;
  fingerprint?: string;
  mode?: RollbackMode;
  reason?: string;
}

/** Approve the rollback of an incident with a signed statement (the mission's signal). */
export const approveRollbackSignal = defineSignal<[ApprovalPayload]>('approveRollback');
/** The same approval, answered: the CLI learns at once whether it was accepted. Malformed payloads are rejected before they reach history. */
export const approveRollbackUpdate = defineUpdate<ApprovalOutcome, [ApprovalPayload]>('approveRollbackUpdate');

const maxStatementChars = 4096;
const ed25519Signature = /^[A-Za-z0-9+/]{86}==$/;
const sshSignature = /^-----BEGIN SSH SIGNATURE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END SSH SIGNATURE-----\s*$/;

/**
 * Why a payload is not a well-formed approval, or undefined when it is. Never throws. `modes`:
 * the modes the decision allows (a rollback's; a parity sign-off has none, so `[null]`).
 */
export function approvalPayloadProblem(payload: unknown, modes: readonly (RollbackMode | null)[] = rollbackModes): string | undefined {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return 'the approval must be an object { mode, statement, signature }';
  const fields = Object.keys(payload);
  const extra = fields.filter((f) => !['mode', 'statement', 'signature'].includes(f));
  if (extra.length > 0) return `unexpected field(s) ${extra.map((f) => JSON.stringify(f.slice(0, 40))).join(', ')} (an approval is { mode, statement, signature })`;
  const { mode, statement, signature } = payload as Record<string, unknown>;
  if (!modes.includes(mode as RollbackMode | null)) return `mode must be ${modes.map((m) => m ?? 'null').join(' or ')}, got ${JSON.stringify(mode)?.slice(0, 40) ?? 'nothing'}`;
  if (typeof statement !== 'string' || statement.length === 0 || statement.length > maxStatementChars) return `statement must be the signed statement text (at most ${maxStatementChars} characters)`;
  if (typeof signature !== 'string' || !(ed25519Signature.test(signature) || (signature.length <= 2000 && sshSignature.test(signature)))) {
    return 'signature must be a base64 Ed25519 signature or an armored SSH signature';
  }
  return undefined;
}
