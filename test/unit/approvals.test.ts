import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { judgeApproval } from '../../activities/approval-judge.ts';
import { createApproverKeyPair, keyFingerprint, loadPrivateKey, parseAllowedSigners, signStatement, sshPublicKeyLine } from '../../activities/approver-keys.ts';
import { readSigningKey, signApproval, type ApprovalRequest, type SigningKey } from '../../client/approval-signing.ts';
import { approvalPayloadProblem } from '../../workflows/approval-messages.ts';

const config = { d1: { accountId: 'acct', databaseId: 'wh' } } as Parameters<typeof signApproval>[0];
const warehouse = 'acct/wh';

function newSigner(): SigningKey & { key: KeyObject } {
  const { privateKeyPem } = createApproverKeyPair('test');
  const key = loadPrivateKey(privateKeyPem);
  return { key, fingerprint: keyFingerprint(key), publicKeyLine: sshPublicKeyLine(key), path: '(memory)', sign: (statement) => signStatement(key, statement) };
}

const paul = newSigner();
const keys = parseAllowedSigners(`paul ${sshPublicKeyLine(paul.key)}\n`, 'allowed_signers');
const request: ApprovalRequest = {
  action: 'approve-incident',
  target: 'incident-orders-2026-03-05',
  mode: 'rewind',
  evidence: { table: 'orders', businessDate: '2026-03-05', sha256: 'c'.repeat(64) },
};
const now = new Date('2026-03-06T07:00:00Z');
const judge = (approval: { mode: 'rewind' | 'time-travel' | null; statement: string; signature: string }, at = now, expected = request) =>
  judgeApproval({ approval, expected, keys, warehouse, now: at });

describe('approver keys: OpenSSH public keys in an allowed_signers file', () => {
  it('reads names, options and comments; the fingerprint is the one ssh-keygen prints', () => {
    const dir = mkdtempSync(join(tmpdir(), 'approver-keys-'));
    const line = sshPublicKeyLine(paul.key, 'paul@sodimo');
    writeFileSync(join(dir, 'paul.pub'), `${line}\n`);
    const printed = execFileSync('ssh-keygen', ['-lf', join(dir, 'paul.pub')], { encoding: 'utf8' });
    expect(printed.split(' ')[1]).toBe(paul.fingerprint);

    const claire = newSigner();
    const parsed = parseAllowedSigners(
      ['# approvers of the warehouse', '', `paul ${line}`, `claire@sodimo.fr,claire namespaces="git" ${sshPublicKeyLine(claire.key)} laptop`].join('\n'),
      'allowed_signers',
    );
    expect(parsed.map((k) => [k.name, k.fingerprint])).toEqual([
      ['paul', paul.fingerprint],
      ['claire@sodimo.fr', claire.fingerprint],
    ]);
  });

  it('refuses other key types, broken keys, the same key twice and unusable names, naming the line', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'pkcs1', format: 'der' }).toString('base64');
    expect(() => parseAllowedSigners(`paul ssh-rsa ${rsa}`, 'f')).toThrow('f, line 1: only ssh-ed25519 keys are supported, found ssh-rsa');
    expect(() => parseAllowedSigners('paul ssh-ed25519 AAAAnotakey', 'f')).toThrow('f, line 1: the ssh-ed25519 key of paul is not a valid public key');
    expect(() => parseAllowedSigners(`paul ${sshPublicKeyLine(paul.key)}\nmallory ${sshPublicKeyLine(paul.key)}`, 'f')).toThrow('f, line 2: the key of mallory is already listed for paul');
    expect(() => parseAllowedSigners(`pa;ul ${sshPublicKeyLine(paul.key)}`, 'f')).toThrow('f, line 1: "pa;ul" is not a usable approver name');
    expect(() => parseAllowedSigners('just some words', 'f')).toThrow('f, line 1: expected "name ssh-ed25519 AAAA…"');
  });
});

describe('judging a signed approval', () => {
  it('accepts a fresh statement signed by a listed key, under the name of the key', () => {
    expect(judge(signApproval(config, paul, request, now))).toMatchObject({ valid: true, approver: 'paul', fingerprint: paul.fingerprint });
  });

  it('refuses anything else, with the reason', () => {
    const good = signApproval(config, paul, request, now);
    const mallory = newSigner();
    const cases: [string, { mode: 'rewind' | 'time-travel' | null; statement: string; signature: string }, string | RegExp][] = [
      ['a tampered statement', { ...good, statement: good.statement.replace('incident-orders', 'incident-stock!') }, `the signature does not verify with paul's key ${paul.fingerprint}`],
      ['random bytes as signature', { ...good, signature: randomBytes(64).toString('base64') }, /^the signature does not verify/],
      ['an unlisted key', signApproval(config, mallory, request, now), `key ${mallory.fingerprint} is not one of the worker's approver keys`],
      ['another incident', signApproval(config, paul, { ...request, target: 'incident-stock-2026-03-05' }, now), 'signed for target "incident-stock-2026-03-05", not "incident-orders-2026-03-05"'],
      ['another warehouse', signApproval({ d1: { accountId: 'acct', databaseId: 'staging' } } as typeof config, paul, request, now), 'signed for warehouse "acct/staging", not "acct/wh"'],
      ['another file', signApproval(config, paul, { ...request, evidence: { ...request.evidence, sha256: 'd'.repeat(64) } }, now), /^signed for evidence sha256 "d+", not "c+"$/],
      ['another action', signApproval(config, paul, { ...request, action: 'manual-rollback' }, now), 'signed for action "manual-rollback", not "approve-incident"'],
      ['another mode than sent', { ...good, mode: 'time-travel' }, 'signed for mode "rewind", not "time-travel"'],
      ['an expired statement', signApproval(config, paul, request, new Date(now.getTime() - 11 * 60_000)), /^the statement expired at 2026-03-06T06:59:00\.000Z$/],
      ['a statement from the future', signApproval(config, paul, request, new Date(now.getTime() + 5 * 60_000)), /^the statement is issued in the future/],
      ['not JSON', { ...good, statement: 'approve!', signature: signStatement(paul.key, 'approve!') }, 'the statement is not JSON'],
    ];
    for (const [what, approval, reason] of cases) {
      const verdict = judge(approval);
      expect(verdict.valid, what).toBe(false);
      if (!verdict.valid) expect(verdict.reason, what)[typeof reason === 'string' ? 'toBe' : 'toMatch'](reason);
    }
  });

  it('refuses a statement valid for longer than an hour or with unknown fields, even signed', () => {
    const long = JSON.parse(signApproval(config, paul, request, now).statement);
    long.expiresAt = new Date(now.getTime() + 2 * 3_600_000).toISOString();
    const text = JSON.stringify(long);
    expect(judge({ mode: 'rewind', statement: text, signature: signStatement(paul.key, text) })).toMatchObject({ valid: false, reason: expect.stringMatching(/is not between 0 and 60 minutes$/) });
    const extra = JSON.stringify({ ...JSON.parse(signApproval(config, paul, request, now).statement), by: 'paul' });
    expect(judge({ mode: 'rewind', statement: extra, signature: signStatement(paul.key, extra) })).toMatchObject({ valid: false, reason: expect.stringMatching(/^the statement is not an approval statement/) });
  });
});

describe("an approver's own SSH key, signing through ssh-keygen -Y sign", () => {
  it('verifies in-process what ssh-keygen signed, and nothing signed for another namespace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'approver-ssh-'));
    const path = join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'claire@laptop', '-f', path]);
    const claire = await readSigningKey({ approvers: { keysFile: '', keys: [], ownKeyFile: path } }, path);
    expect(claire.fingerprint).toBe(execFileSync('ssh-keygen', ['-lf', `${path}.pub`], { encoding: 'utf8' }).split(' ')[1]);
    const list = parseAllowedSigners(`claire ${readFileSync(`${path}.pub`, 'utf8')}`, 'allowed_signers');
    const approval = signApproval(config, claire, request, now);
    expect(approval.signature).toMatch(/^-----BEGIN SSH SIGNATURE-----/);
    expect(approvalPayloadProblem(approval)).toBeUndefined();
    expect(judgeApproval({ approval, expected: request, keys: list, warehouse, now })).toMatchObject({ valid: true, approver: 'claire' });

    const forGit = execFileSync('ssh-keygen', ['-Y', 'sign', '-n', 'git', '-f', path], { input: approval.statement, encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'] });
    expect(judgeApproval({ approval: { ...approval, signature: forGit }, expected: request, keys: list, warehouse, now })).toMatchObject({ valid: false, reason: expect.stringMatching(/^the signature does not verify with claire's key/) });
    // And ssh-keygen itself agrees with what the worker accepted.
    writeFileSync(join(dir, 'allowed_signers'), `claire ${readFileSync(`${path}.pub`, 'utf8')}`);
    writeFileSync(join(dir, 'statement.sig'), approval.signature);
    const verified = execFileSync('ssh-keygen', ['-Y', 'verify', '-f', join(dir, 'allowed_signers'), '-I', 'claire', '-n', 'sodimo-warehouse-approval', '-s', join(dir, 'statement.sig')], { input: approval.statement, encoding: 'utf8' });
    expect(verified).toContain('Good "sodimo-warehouse-approval" signature for claire');
  });
});

describe('the approval payload check every message passes first', () => {
  const signature = signStatement(paul.key, 'x');
  it.each([
    [null, 'the approval must be an object { mode, statement, signature }'],
    ['paul', 'the approval must be an object { mode, statement, signature }'],
    [[1], 'the approval must be an object { mode, statement, signature }'],
    [{ by: 'paul', mode: 'rewind' }, 'unexpected field(s) "by" (an approval is { mode, statement, signature })'],
    [{ statement: 'x', signature }, 'mode must be rewind or time-travel, got nothing'],
    [{ mode: 'Rewind', statement: 'x', signature }, 'mode must be rewind or time-travel, got "Rewind"'],
    [{ mode: 'rewind', statement: '', signature }, 'statement must be the signed statement text (at most 4096 characters)'],
    [{ mode: 'rewind', statement: 'x'.repeat(5000), signature }, 'statement must be the signed statement text (at most 4096 characters)'],
    [{ mode: 'rewind', statement: 'x', signature: 'paul' }, 'signature must be a base64 Ed25519 signature or an armored SSH signature'],
  ])('%j is refused', (payload, reason) => {
    expect(approvalPayloadProblem(payload)).toBe(reason);
  });
  it('passes a well-formed approval', () => {
    expect(approvalPayloadProblem({ mode: 'time-travel', statement: 'x', signature })).toBeUndefined();
  });
  it('checks a parity sign-off the same way, with no mode', () => {
    expect(approvalPayloadProblem({ mode: null, statement: 'x', signature }, [null])).toBeUndefined();
    expect(approvalPayloadProblem({ mode: 'rewind', statement: 'x', signature }, [null])).toBe('mode must be null, got "rewind"');
    expect(approvalPayloadProblem({ mode: null, statement: 'x'.repeat(5000), signature }, [null])).toBe('statement must be the signed statement text (at most 4096 characters)');
  });
});
