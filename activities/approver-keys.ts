import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

/**
 * Approvers' Ed25519 keys. Public keys are written as OpenSSH does (`ssh-ed25519 AAAA…`),
 * and the worker's list of approvers is a file in the `allowed_signers` format git and
 * `ssh-keygen -Y verify` use: one `name ssh-ed25519 AAAA… [comment]` per line. The name an
 * approval is recorded under comes from this file, never from the caller.
 */

/** One approver the worker trusts: the name it records and the key that proves it. */
export interface ApproverKey {
  name: string;
  /** OpenSSH fingerprint of the key (`SHA256:…`), as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  key: KeyObject;
}

const sshKeyType = 'ssh-ed25519';

/** A length-prefixed string of the SSH wire format. */
function sshString(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** Reads the SSH wire format's length-prefixed strings from a blob. */
function readSshStrings(blob: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  for (let at = 0; at < blob.length; ) {
    if (at + 4 > blob.length) throw new Error('truncated SSH key blob');
    const length = blob.readUInt32BE(at);
    if (at + 4 + length > blob.length) throw new Error('truncated SSH key blob');
    parts.push(blob.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return parts;
}

/** The raw 32-byte Ed25519 public key of a KeyObject. */
function rawPublicKey(key: KeyObject): Buffer {
  const jwk = (key.type === 'public' ? key : createPublicKey(key)).export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new Error('not an Ed25519 key');
  return Buffer.from(jwk.x, 'base64url');
}

/** The OpenSSH wire blob of a public key (what `AAAA…` encodes and the fingerprint hashes). */
function sshBlob(key: KeyObject): Buffer {
  return Buffer.concat([sshString(Buffer.from(sshKeyType)), sshString(rawPublicKey(key))]);
}

/** `SHA256:<base64 without padding>` of the key, like `ssh-keygen -lf`. */
export function keyFingerprint(key: KeyObject): string {
  return `SHA256:${createHash('sha256').update(sshBlob(key)).digest('base64').replace(/=+$/, '')}`;
}

/** The public key as one OpenSSH line: `ssh-ed25519 AAAA… comment`. */
export function sshPublicKeyLine(key: KeyObject, comment = ''): string {
  return `${sshKeyType} ${sshBlob(key).toString('base64')}${comment ? ` ${comment}` : ''}`;
}

/** Parses the base64 blob of an `ssh-ed25519` public key into a KeyObject. */
export function parseSshPublicKey(base64: string): KeyObject {
  const [type, raw, ...rest] = readSshStrings(Buffer.from(base64, 'base64'));
  if (type?.toString() !== sshKeyType || raw?.length !== 32 || rest.length > 0) throw new Error('not an ssh-ed25519 public key');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

/**
 * Parses an allowed_signers file: `principal[,principal…] [options] ssh-ed25519 AAAA… [comment]`
 * per line, `#` comments and blank lines ignored. The first principal is the approver's name.
 * Throws with the line number on anything else (another key type, a duplicate key or name).
 */
export function parseAllowedSigners(text: string, source: string): ApproverKey[] {
  const approvers: ApproverKey[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const where = `${source}, line ${index + 1}`;
    const fields = line.split(/\s+/);
    const typeAt = fields.findIndex((f, i) => i > 0 && /^(ssh-|ecdsa-|sk-)/.test(f));
    if (typeAt < 1) throw new Error(`${where}: expected "name ssh-ed25519 AAAA…", found "${line.slice(0, 60)}"`);
    if (fields[typeAt] !== sshKeyType) throw new Error(`${where}: only ssh-ed25519 keys are supported, found ${fields[typeAt]}`);
    const name = fields[0]!.split(',')[0]!.replace(/^"|"$/g, '');
    if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name)) throw new Error(`${where}: "${name}" is not a usable approver name (letters, digits, . _ @ -)`);
    let key: KeyObject;
    try {
      key = parseSshPublicKey(fields[typeAt + 1] ?? '');
    } catch {
      throw new Error(`${where}: the ssh-ed25519 key of ${name} is not a valid public key`);
    }
    const fingerprint = keyFingerprint(key);
    const twin = approvers.find((a) => a.fingerprint === fingerprint);
    if (twin) throw new Error(`${where}: the key of ${name} is already listed for ${twin.name}`);
    approvers.push({ name, fingerprint, key });
  });
  return approvers;
}

/** A new approver key pair: the private key as PKCS#8 PEM, the public key as an OpenSSH line. */
export function createApproverKeyPair(comment: string): { privateKeyPem: string; publicKeyLine: string; fingerprint: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyLine: sshPublicKeyLine(publicKey, comment),
    fingerprint: keyFingerprint(publicKey),
  };
}

/** Loads an approver's private key (PKCS#8 PEM, as `warehouse approver-key create` writes it). */
export function loadPrivateKey(pem: string): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`an Ed25519 key is needed, found ${key.asymmetricKeyType}`);
  return key;
}

/** Signs a statement's exact bytes; the signature travels as base64. */
export function signStatement(privateKey: KeyObject, statement: string): string {
  return sign(null, Buffer.from(statement, 'utf8'), privateKey).toString('base64');
}

/** The namespace approvers give `ssh-keygen -Y sign -n`: a signature made for git or anything else never counts. */
export const sshSignatureNamespace = 'sodimo-warehouse-approval';
const sshSigMagic = Buffer.from('SSHSIG');
const sshSigArmor = /^-----BEGIN SSH SIGNATURE-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END SSH SIGNATURE-----\s*$/;

/**
 * True when `armored` is an OpenSSH signature (`ssh-keygen -Y sign -n sodimo-warehouse-approval`,
 * the SSHSIG format of OpenSSH's PROTOCOL.sshsig) of the statement's exact bytes by this key.
 * Verified here with node:crypto, no ssh-keygen process per request.
 */
function verifySshSignature(key: KeyObject, statement: string, armored: string): boolean {
  const body = sshSigArmor.exec(armored)?.[1];
  if (!body) return false;
  const blob = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  if (blob.length < 10 || !blob.subarray(0, 6).equals(sshSigMagic) || blob.readUInt32BE(6) !== 1) return false;
  let fields: Buffer[];
  try {
    fields = readSshStrings(blob.subarray(10));
  } catch {
    return false;
  }
  const [publicKey, namespace, reserved, hashAlgorithm, signatureBlob, ...rest] = fields;
  if (!publicKey || !namespace || !reserved || !hashAlgorithm || !signatureBlob || rest.length > 0) return false;
  if (!publicKey.equals(sshBlob(key)) || namespace.toString() !== sshSignatureNamespace) return false;
  const hash = hashAlgorithm.toString();
  if (hash !== 'sha512' && hash !== 'sha256') return false;
  const [type, signature, ...extra] = readSshStrings(signatureBlob);
  if (type?.toString() !== sshKeyType || signature?.length !== 64 || extra.length > 0) return false;
  const signed = Buffer.concat([sshSigMagic, sshString(namespace), sshString(reserved), sshString(hashAlgorithm), sshString(createHash(hash).update(statement, 'utf8').digest())]);
  return verify(null, signed, key, signature);
}

/**
 * True when `signature` is the key's signature of the statement's exact bytes: a base64
 * Ed25519 signature (`warehouse approver-key` keys) or an armored OpenSSH one (an SSH key).
 */
export function verifyStatement(key: KeyObject, statement: string, signature: string): boolean {
  if (signature.startsWith('-----BEGIN SSH SIGNATURE-----')) return verifySshSignature(key, statement, signature);
  const bytes = Buffer.from(signature, 'base64');
  if (bytes.length !== 64) return false;
  return verify(null, Buffer.from(statement, 'utf8'), key, bytes);
}
