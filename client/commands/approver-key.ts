import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { createApproverKeyPair } from '../../activities/approver-keys.ts';
import type { Config } from '../../worker/config.ts';
import { readSigningKey } from '../approval-signing.ts';
import { UserError } from '../cli-support.ts';

/** Writes a new approver key pair; returns the line the worker's APPROVER_PUBLIC_KEYS file needs. */
export async function createApproverKey(input: { name: string; keyFile: string }): Promise<{ line: string; fingerprint: string }> {
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(input.name)) throw new UserError(`--name "${input.name}" must be letters, digits, . _ @ - (it is how approvals are recorded)`);
  const pair = createApproverKeyPair(`${input.name}@sodimo-warehouse`);
  await mkdir(dirname(input.keyFile), { recursive: true, mode: 0o700 });
  // flag wx: never overwrite a key someone may already have registered.
  await writeFile(input.keyFile, pair.privateKeyPem, { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EEXIST') throw new UserError(`${input.keyFile} already exists; keep it, or choose another file with --out`);
    throw error;
  });
  return { line: `${input.name} ${pair.publicKeyLine}`, fingerprint: pair.fingerprint };
}

/** Adds an allowed_signers line to the worker's list, unless that key is already there. */
export async function registerApproverKey(keysFile: string, line: string): Promise<boolean> {
  const existing = await readFile(keysFile, 'utf8').catch(() => '');
  const key = line.split(/\s+/)[2];
  if (existing.split('\n').some((l) => l.split(/\s+/).includes(key!))) return false;
  await mkdir(dirname(keysFile), { recursive: true });
  await appendFile(keysFile, `${existing && !existing.endsWith('\n') ? '\n' : ''}${line}\n`);
  return true;
}

/** `warehouse approver-key create|show`: an approver's Ed25519 key, and the line that registers it with the worker. */
export function registerApproverKeyCommand(program: Command, loadConfig: () => Config): void {
  const command = program.command('approver-key').description("create or show your approver key (approvals are signed with it; the worker trusts the public keys in APPROVER_PUBLIC_KEYS)");
  command
    .command('create')
    .description('create an Ed25519 approver key and print the line to add to the worker\'s APPROVER_PUBLIC_KEYS file')
    .requiredOption('--name <name>', 'the name approvals made with this key are recorded under')
    .option('--out <file>', 'where to write the private key (default: APPROVER_KEY, else ~/.config/sodimo-warehouse/approver.key)')
    .option('--register', "also append the public line to this machine's APPROVER_PUBLIC_KEYS file (restart the worker to take it)")
    .action(async (options: { name: string; out?: string; register?: boolean }) => {
      const config = loadConfig();
      const keyFile = options.out ?? config.approvers.ownKeyFile;
      const { line, fingerprint } = await createApproverKey({ name: options.name, keyFile });
      console.log(`private key written to ${keyFile} (mode 600; keep it to yourself)`);
      console.log(`fingerprint ${fingerprint}`);
      if (options.register) {
        const added = await registerApproverKey(config.approvers.keysFile, line);
        console.log(added ? `registered in ${config.approvers.keysFile}; restart the worker so it reads the list again` : `already registered in ${config.approvers.keysFile}`);
      } else {
        console.log(`to make it an approver, add this line to the worker's ${config.approvers.keysFile} and restart the worker:\n${line}`);
      }
    });
  command
    .command('show')
    .description('print your key\'s fingerprint and public line, and whether this machine\'s worker list has it')
    .option('--key <file>', 'your private approver key, or an OpenSSH ed25519 key (default: APPROVER_KEY, else ~/.config/sodimo-warehouse/approver.key)')
    .action(async (options: { key?: string }) => {
      const config = loadConfig();
      const signer = await readSigningKey(config, options.key);
      const listed = config.approvers.keys.find((k) => k.fingerprint === signer.fingerprint);
      console.log(`${signer.path}: ${signer.fingerprint}`);
      console.log(signer.publicKeyLine);
      console.log(listed ? `listed in ${config.approvers.keysFile} as ${listed.name}` : `not listed in ${config.approvers.keysFile}`);
    });
}
