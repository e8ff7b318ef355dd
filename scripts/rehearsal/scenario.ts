// The rehearsal's operator day, against the stack scripts/rehearsal/rehearse.sh started:
// one night, one quarantine whose alert is read back from Mailpit, a signed approval and
// the repair, then `warehouse status --check`. Every step is the `warehouse` CLI as
// ops/README.md's alias runs it (`node --env-file=<the .env> client/cli.ts …`); the checks
// read the warehouse, Temporal and Mailpit as an auditor would. Exits non-zero on the
// first step that does not hold, saying which.
//
//   REHEARSAL_ENV_FILE=… REHEARSAL_DIR=… MAILPIT_API=http://127.0.0.1:P node scripts/rehearsal/scenario.ts
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { Connection } from '@temporalio/client';
import iconv from 'iconv-lite';
import { cliEntry } from '../../client/cli-support.ts';
import { contractFor, tableContracts } from '../../contracts/index.ts';
import { exportFileName } from '../../contracts/types.ts';
import { createD1Client } from '../../d1/client.ts';
import { readTruth } from '../../generator/truth.ts';
import { loadConfig } from '../../worker/config.ts';
import { currentState } from '../../test/support/truth.ts';
import { readMailpitMessage, waitForMailpitMessage } from './mailpit.ts';

/** The rehearsal's nights (2027-12-xx: no test of the suite uses them). */
const [night1, night2] = ['2027-12-01', '2027-12-02'] as const;
const badTable = 'orders';
const incidentId = `incident-${badTable}-${night2}`;

const envFile = required('REHEARSAL_ENV_FILE');
const dir = required('REHEARSAL_DIR');
const mailpitApi = required('MAILPIT_API');
const settings = parseEnv(await readFile(envFile, 'utf8')) as Record<string, string>;
const config = loadConfig(settings);
const inbox = join(config.paths.nasDir, 'inbox');
const exportsDir = join(dir, 'sodiwin');

await step('the Temporal server is 1.31 on PostgreSQL, not the dev server', async () => {
  const connection = await Connection.connect({ address: config.temporal.address });
  try {
    const info = await connection.workflowService.getClusterInfo({});
    assert.equal(info.serverVersion, required('TEMPORAL_VERSION'));
    assert.equal(info.persistenceStore, 'postgres12');
    assert.match(info.visibilityStore ?? '', /postgres12/);
    return `server ${info.serverVersion}, persistence ${info.persistenceStore}, visibility ${info.visibilityStore}`;
  } finally {
    await connection.close();
  }
});

await step(`Sodiwin's exports of ${night1} and ${night2} (the generator)`, async () => {
  const generated = await warehouse(['generate', '--out', exportsDir, '--from', night1, '--days', '2', '--scale', '0.3', '--seed', '27']);
  assert.equal(generated.code, 0, generated.stderr);
  return generated.stdout.trim().split('\n')[0];
});

await step(`night ${night1}: every table loads (warehouse run --wait)`, async () => {
  await dropExports(night1);
  const run = await warehouse(['run', '--date', night1, '--wait', '--json']);
  assert.equal(run.code, 0, run.stderr);
  const summary = JSON.parse(run.stdout) as { status: string; tables: { table: string; status: string }[] };
  assert.equal(summary.status, 'ok');
  assert.deepEqual(summary.tables.map((t) => t.status), tableContracts.map(() => 'loaded'));
  await matchesTruth(night1);
  return `${summary.tables.length} tables loaded; every <table>_current matches the generator's truth`;
});

await step(`night ${night2}: a corrupt ${badTable} export is quarantined, the other tables load`, async () => {
  await dropExports(night2);
  const path = join(inbox, exportFileName(contractFor(badTable), night2));
  const text = iconv.decode(await readFile(path), 'win1252');
  assert.match(text, /;VALIDEE;/);
  await writeFile(path, iconv.encode(text.replace(/;VALIDEE;/, ';EN_ATTENTE;'), 'win1252')); // an unknown order status on one line
  const run = await warehouse(['run', '--date', night2, '--wait', '--json']);
  assert.equal(run.code, 2, `a partial night exits 2\n${run.stderr}`);
  const summary = JSON.parse(run.stdout) as { tables: { table: string; status: string; errorType?: string }[] };
  const bad = summary.tables.find((t) => t.table === badTable);
  assert.equal(bad?.status, 'failed');
  assert.equal(bad?.errorType, 'RowValidationFailed');
  assert.deepEqual(summary.tables.filter((t) => t.status !== 'loaded').map((t) => t.table), [badTable]);
  return `${badTable} failed (RowValidationFailed); ${summary.tables.length - 1} tables loaded`;
});

await step("the alert reaches Mailpit over SMTP and says what broke", async () => {
  const listed = await waitForMailpitMessage(mailpitApi, (m) => m.Subject.startsWith(`[warehouse] ${badTable} ${night2}:`));
  const mail = await readMailpitMessage(mailpitApi, listed.ID);
  assert.equal(mail.Subject, `[warehouse] ${badTable} ${night2}: RowValidationFailed — Some rows break the agreed format (a number, a date, a code or a required value)`);
  assert.deepEqual(mail.To.map((t) => t.Address), config.mail.to);
  assert.equal(mail.From.Address, config.mail.from);
  assert.equal(mail.MessageID, `${incidentId}@sodimo-warehouse`);
  assert.ok(mail.Text.includes(`The nightly load of table ${badTable} for business date ${night2} was stopped and the file set aside.`), mail.Text);
  assert.ok(mail.Text.includes('EN_ATTENTE'), `the body names the bad value\n${mail.Text}`);
  assert.ok(mail.Text.includes(exportFileName(contractFor(badTable), night2)), `the body names the file\n${mail.Text}`);
  assert.ok(mail.Text.includes(`warehouse approve ${incidentId} --mode rewind`), mail.Text);
  return `"${mail.Subject}" to ${mail.To.map((t) => t.Address).join(', ')}`;
});

await step(`Paul approves with his signed key (warehouse approve --wait) and ${badTable} is repaired`, async () => {
  // Sodiwin sends the corrected export: the generated file goes back in the inbox.
  const file = exportFileName(contractFor(badTable), night2);
  await copyFile(join(exportsDir, file), join(inbox, file));
  const approve = await warehouse(['approve', incidentId, '--wait']);
  assert.equal(approve.code, 0, approve.stderr);
  assert.match(approve.stdout, new RegExp(`accepted: paul approved the rewind repair of ${incidentId}`));
  assert.match(approve.stdout, new RegExp(`resolved: replayed ${night2}`));
  await matchesTruth(night2);
  return `${approve.stdout.trim().split('\n').at(-1)}; every <table>_current matches the truth of ${night2}`;
});

await step('warehouse status --check exits 0', async () => {
  const status = await warehouse(['status', '--check']);
  assert.equal(status.code, 0, `${status.stdout}\n${status.stderr}`);
  return status.stdout.trim().split('\n').at(-1);
});

/** Runs one step, printing its name and outcome; the first failure ends the rehearsal. */
async function step(name: string, run: () => Promise<string | undefined>): Promise<void> {
  const started = Date.now();
  process.stdout.write(`rehearsal: ${name} … `);
  try {
    const outcome = await run();
    console.log(`ok (${((Date.now() - started) / 1000).toFixed(1)} s)${outcome ? `\n  ${outcome}` : ''}`);
  } catch (error) {
    console.log('FAILED');
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  }
}

/** The `warehouse` CLI as ops/README.md's alias runs it: Node 24 with the service's env file, nothing else of ours. */
function warehouse(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !(key in settings) && !key.startsWith('REHEARSAL_')));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`--env-file=${envFile}`, cliEntry, ...args], { env: inherited, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Sodiwin drops a night's exports in the NAS inbox. */
async function dropExports(businessDate: string): Promise<void> {
  const stamp = businessDate.replaceAll('-', '');
  for (const contract of tableContracts) {
    const file = exportFileName(contract, businessDate);
    assert.ok(file.includes(stamp), file);
    await copyFile(join(exportsDir, file), join(inbox, file));
  }
}

/** Every table's current rows, key digest and control totals equal the generator's truth of that date. */
async function matchesTruth(businessDate: string): Promise<void> {
  const d1 = createD1Client(config.d1);
  const truth = await readTruth(exportsDir, businessDate);
  for (const contract of tableContracts) assert.deepEqual(await currentState(d1, contract), truth.tables[contract.table]!.current, `${contract.table} on ${businessDate}`);
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`scenario.ts needs ${name} (scripts/rehearsal/rehearse.sh sets it)`);
  return value;
}
