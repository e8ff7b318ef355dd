import { spawnSync } from 'node:child_process';
import { createPublicKey, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { defaultStatementLifetimeMs, statementPurpose, writeStatement, type ApprovalAction, type ExpectedApproval, type RollbackMode } from '../common/approval-statement.ts';
import { keyFingerprint, loadPrivateKey, parseSshPublicKey, signStatement, sshPublicKeyLine, sshSignatureNamespace } from '../activities/approver-keys.ts';
import { warehouseIdOf, type Config } from '../worker/config.ts';
import { UserError } from './cli-support.ts';

/** The approver's own key, as the CLI signs with it. */
export interface SigningKey {
  fingerprint: string;
  /** The public key as an OpenSSH line (`ssh-ed25519 AAAA…`), for the worker's list. */
  publicKeyLine: string;
  path: string;
  /** Signs a statement's exact bytes. */
  sign(statement: string): string;
}

/**
 * Reads the approver's private key (APPROVER_KEY, or `--key FILE`): the PKCS#8 PEM that
 * `warehouse approver-key create` writes, or an OpenSSH ed25519 key (its `.pub` beside it),
 * which signs through `ssh-keygen -Y sign` so a passphrase or the ssh-agent keeps working.
 */
export async function readSigningKey(config: Pick<Config, 'approvers'>, path = config.approvers.ownKeyFile): Promise<SigningKey> {
  const pem = await readFile(path, 'utf8').catch(() => {
    throw new UserError(`no approver key at ${path}: create one with \`warehouse approver-key create --name <you>\` and have its public line added to the worker's APPROVER_PUBLIC_KEYS (or point APPROVER_KEY / --key at yours)`);
  });
  if (pem.includes('-----BEGIN OPENSSH PRIVATE KEY-----')) return readSshSigningKey(path);
  try {
    const key = loadPrivateKey(pem);
    return { fingerprint: keyFingerprint(key), publicKeyLine: sshPublicKeyLine(createPublicKey(key)), path, sign: (statement) => signStatement(key, statement) };
  } catch (error) {
    throw new UserError(`${path} is not an Ed25519 private key in PEM: ${(error as Error).message}`);
  }
}

/** An OpenSSH key: the fingerprint from `<path>.pub`, signatures from `ssh-keygen -Y sign`. */
async function readSshSigningKey(path: string): Promise<SigningKey> {
  const publicLine = (await readFile(`${path}.pub`, 'utf8').catch(() => '')).trim();
  const [type, base64] = publicLine.split(/\s+/);
  if (type !== 'ssh-ed25519' || !base64) throw new UserError(`${path} is an OpenSSH key: its public half ${path}.pub must be beside it and be ssh-ed25519 (found "${type ?? 'nothing'}")`);
  const key = parseSshPublicKey(base64);
  return {
    fingerprint: keyFingerprint(key),
    publicKeyLine: sshPublicKeyLine(key),
    path,
    sign(statement) {
      const signed = spawnSync('ssh-keygen', ['-Y', 'sign', '-n', sshSignatureNamespace, '-f', path], { input: statement, encoding: 'utf8', stdio: ['pipe', 'pipe', 'inherit'] });
      if (signed.error || signed.status !== 0) throw new UserError(`ssh-keygen -Y sign with ${path} failed${signed.error ? `: ${signed.error.message}` : ` (exit ${signed.status})`}`);
      return signed.stdout;
    },
  };
}

/**
 * A workflow that ended because the worker refused its approval, as the CLI's one-line
 * refusal; anything else unchanged. The workflow's message already says what was refused and
 * why ("rollback to … refused: key … is not one of the worker's approver keys"): it is shown
 * as it is, `what` only names the request when the message does not.
 */
export function refusalOf(error: unknown, what: string): unknown {
  const cause = (error as { cause?: { type?: string; message?: string } }).cause;
  if (cause?.type !== 'ApprovalRefused') return error;
  const message = cause.message ?? '';
  return / refused: /.test(message) ? new UserError(message) : refusal(what, message);
}

/** One refusal as the CLI prints it: what was refused, then why, each said once ("… refused: <why>"). */
export function refusal(what: string, why: string): UserError {
  return new UserError(`${what} refused: ${why.replace(/^(approval )?(refused|rejected): /i, '')}`);
}

/** What to sign: the action and its target, the mode, the evidence the approver was shown. */
export interface ApprovalRequest extends ExpectedApproval {
  action: ApprovalAction;
  mode: RollbackMode | null;
  facts?: Record<string, string | number>;
}

/** A signed statement for this warehouse with a fresh nonce, valid for ten minutes. */
export function signApproval(config: Pick<Config, 'd1'>, signer: SigningKey, request: ApprovalRequest, now = new Date()): { mode: RollbackMode | null; statement: string; signature: string } {
  const statement = writeStatement({
    purpose: statementPurpose,
    warehouse: warehouseIdOf(config),
    action: request.action,
    target: request.target,
    mode: request.mode,
    evidence: request.evidence,
    facts: request.facts ?? {},
    key: signer.fingerprint,
    nonce: randomBytes(16).toString('hex'),
    issuedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + defaultStatementLifetimeMs).toISOString(),
  });
  return { mode: request.mode, statement, signature: signer.sign(statement) };
}
