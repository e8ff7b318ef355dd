import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { keyIndexPathFor, recordFingerprint } from '../../activities/key-index.ts';
import { nasLayout, type NasLayout } from '../../activities/nas.ts';
import { createPublishActivities } from '../../activities/publish.ts';
import { createStageActivities, type StageResult } from '../../activities/stage.ts';
import { createValidateActivities } from '../../activities/validate.ts';
import { createVerifyActivities } from '../../activities/verify.ts';
import { applyMigrations } from '../../activities/schema.ts';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName, sodiwinDialect } from '../../contracts/types.ts';
import { createD1Client, type D1Client } from '../../d1/client.ts';
import { startLocalD1Service, type LocalD1Service } from '../../d1/local-service/server.ts';
import { generateExports } from '../../generator/index.ts';

/**
 * A full snapshot staged as its changes (the keyed diff) must leave exactly the history the whole
 * file leaves: the same two databases, one loading every night through the diff and one with the
 * key indexes removed, end with the same versions. The diff is used only when the warehouse's
 * current rows are the indexed file; a hand edit in D1 sends the whole file again, and says why.
 */
const dates = ['2028-09-05', '2028-09-06', '2028-09-07', '2028-09-08', '2028-09-09', '2028-09-10', '2028-09-11', '2028-09-12', '2028-09-13'] as const;
const contract = contractFor('customers');

interface Warehouse {
  service: LocalD1Service;
  d1: D1Client;
  nas: NasLayout;
}

let root: string;
let inbox: string;
let diffing: Warehouse;
let whole: Warehouse;
const logs: LogEntry[] = [];

async function warehouse(name: string): Promise<Warehouse> {
  const service = await startLocalD1Service({ dataDir: join(root, name, 'd1'), apiToken: randomBytes(16).toString('hex') });
  const d1 = createD1Client({ baseUrl: service.url, accountId: service.accountId, databaseId: service.databaseId, apiToken: service.apiToken });
  await applyMigrations(d1);
  return { service, d1, nas: nasLayout(join(root, name, 'nas')) };
}

/**
 * One night of `customers` through validate, stage, publish and verify, as loadTable runs them;
 * `spoolAsEarlierRelease`: stage is given the spool without its `diff`, as a stage of a release
 * before diff spools reads it.
 */
async function night(w: Warehouse, businessDate: string, file: string, spoolAsEarlierRelease = false): Promise<StageResult> {
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('INFO', (entry) => logs.push(entry)) });
  const run = <A, R>(activity: (input: A) => Promise<R>, input: A): Promise<R> => env.run(activity, input);
  const loadId = `keyed-${businessDate}`;
  const fileName = exportFileName(contract, businessDate);
  const fetched = { fileName, archivePath: file, sha256: loadId, bytes: (await stat(file)).size, loadId, alreadyLoaded: false };
  const deps = { d1: w.d1, nas: w.nas, rejectTolerance: 0, rejectedRowsCap: 1000, stageChunkRows: 100, dialect: sodiwinDialect };
  const validated = await run(createValidateActivities(deps).validateExport, { table: 'customers', businessDate, runId: 'keyed-diff-test', fetched });
  const load = { table: 'customers', businessDate, loadId, fileName };
  const spool = validated.spool && spoolAsEarlierRelease ? { path: validated.spool.path, sha256: validated.spool.sha256, rows: validated.spool.rows } : validated.spool;
  const staged = await run(createStageActivities(deps).stageExport, { ...load, archivePath: file, ...(spool ? { spool } : {}) });
  const published = await run(createPublishActivities(deps).publishLoad, load);
  await run(createVerifyActivities(deps).verifyLoad, { ...load, validated, staged, published });
  return staged;
}

/** Every version of the table, as a reader of history sees it. */
async function history(w: Warehouse): Promise<unknown[]> {
  const [rows] = await w.d1.query<Record<string, unknown>>(
    'SELECT customer_code, _valid_from, _valid_to, _is_current, _is_deleted, _row_hash, _loaded_by, _closed_by FROM customers ORDER BY customer_code, _valid_from, _is_deleted',
  );
  return rows!.results;
}

/** A file's data lines (the header left out), as Sodiwin wrote them. */
async function dataLines(file: string): Promise<string[]> {
  return (await readFile(file, 'latin1')).split('\r\n').slice(1).filter((line) => line.length > 0);
}

/** The keys (CODE_CLIENT, the first column) of one file that the other lacks. */
async function keysMissing(from: string, inFile: string): Promise<number> {
  const keys = new Set((await dataLines(inFile)).map((line) => line.split(';')[0]));
  return (await dataLines(from)).filter((line) => !keys.has(line.split(';')[0])).length;
}

/** Lines of `file` that are not, byte for byte, a line of `before`: its new and changed rows. */
async function linesNotIn(file: string, before: string): Promise<number> {
  const earlier = new Set(await dataLines(before));
  return (await dataLines(file)).filter((line) => !earlier.has(line)).length;
}

/** The file of a date with `drop` data lines removed and one line's name changed. */
async function edited(businessDate: string, drop: number[], rename: number): Promise<string> {
  const lines = (await readFile(join(inbox, exportFileName(contract, businessDate)), 'latin1')).split('\r\n');
  const nameColumn = lines[0]!.split(';').indexOf(contract.columns.find((c) => c.name === 'name')!.source);
  const fields = lines[rename]!.split(';');
  fields[nameColumn] = `${fields[nameColumn]!.slice(0, 40)} (renamed)`;
  lines[rename] = fields.join(';');
  const kept = lines.filter((_, i) => !drop.includes(i));
  const path = join(root, `edited-${businessDate}.csv`);
  await writeFile(path, kept.join('\r\n'), 'latin1');
  return path;
}

/**
 * An index rewritten as it would be by an earlier reader (another guard) or a writer bug, its digest
 * recorded with its load as validation records it: the index is trusted, and what it says is tested.
 */
async function rewriteRecordedIndex(w: Warehouse, loadId: string, lines: string[]): Promise<string> {
  const index = keyIndexPathFor(w.nas, 'customers', loadId);
  const text = lines.join('\n');
  await writeFile(index, text);
  await w.d1.query('UPDATE etl_loads SET key_index_sha256 = ? WHERE load_id = ?', [createHash('sha256').update(text).digest('hex'), loadId]);
  return index;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sodimo-keyed-diff-'));
  inbox = join(root, 'inbox');
  await generateExports({ outDir: inbox, from: dates[0], days: dates.length, scale: 1, seed: 9 });
  [diffing, whole] = await Promise.all([warehouse('diffing'), warehouse('whole')]);
}, 60_000);
afterAll(async () => {
  await Promise.all([diffing?.service.close(), whole?.service.close()]);
  await rm(root, { recursive: true, force: true });
});

describe('a full snapshot staged as its changes against the file the warehouse holds', () => {
  it('sends only new, changed and absent keys, and leaves the history the whole file leaves', async () => {
    const files = [join(inbox, exportFileName(contract, dates[0])), await edited(dates[1], [5, 9], 3), join(inbox, exportFileName(contract, dates[2]))];
    const first = await night(diffing, dates[0], files[0]!);
    await night(whole, dates[0], files[0]!);
    expect(first.diff).toBeUndefined(); // nothing loaded yet: the whole file

    const second = await night(diffing, dates[1], files[1]!);
    await rm(keyIndexPathFor(whole.nas, 'customers', `keyed-${dates[0]}`));
    const secondWhole = await night(whole, dates[1], files[1]!);
    expect(secondWhole.diff).toBeUndefined();
    // Two keys dropped and one renamed, on top of the generator's own changes from one day to the
    // next: what is sent is what differs between the two files, counted here from their lines.
    const absent = await keysMissing(files[0]!, files[1]!);
    expect(absent).toBeGreaterThanOrEqual(2);
    expect(second.diff).toEqual({ against: `keyed-${dates[0]}`, rowsUnchanged: secondWhole.rowsStaged - second.rowsStaged, keysAbsent: absent });
    // Every other line is byte for byte the earlier file's: recognised, not parsed nor sent.
    expect(second.rowsStaged).toBe(await linesNotIn(files[1]!, files[0]!));
    expect(second.rowsStaged).toBeLessThan(secondWhole.rowsStaged / 4);

    const third = await night(diffing, dates[2], files[2]!);
    await rm(keyIndexPathFor(whole.nas, 'customers', `keyed-${dates[1]}`));
    await night(whole, dates[2], files[2]!);
    // The dropped keys come back: new versions after their tombstones.
    expect(third.diff).toEqual({ against: `keyed-${dates[1]}`, rowsUnchanged: expect.any(Number), keysAbsent: await keysMissing(files[1]!, files[2]!) });
    expect(third.rowsStaged).toBe(await linesNotIn(files[2]!, files[1]!));

    const versions = await history(diffing);
    expect(versions).toEqual(await history(whole));
    const tombstones = versions.filter((v) => (v as { _is_deleted: number })._is_deleted === 1);
    expect(tombstones).toHaveLength(absent + third.diff!.keysAbsent);
  }, 120_000);

  it('a load validated again after its own publish (its local steps re-run once a worker died) is staged whole, and history is unchanged', async () => {
    const file = join(inbox, exportFileName(contract, dates[2]));
    const before = await history(diffing);
    logs.length = 0;
    const again = await night(diffing, dates[2], file);
    expect(again.diff).toBeUndefined();
    expect(again.rowsStaged).toBe((await dataLines(file)).length);
    const why = logs.find((entry) => entry.message === 'spooling the whole snapshot');
    expect(why?.meta?.why).toBe(`the table holds this load already (keyed-${dates[2]}): a load is never diffed against itself`);
    expect(await history(diffing)).toEqual(before);
    expect(before).toEqual(await history(whole));
  }, 120_000);

  it('refuses a file that repeats a key with the lines of both, as the whole path does', async () => {
    // The third night's file (the warehouse holds it) with its line 8 (lines[7]: the header is line 1) repeated as line 14.
    const lines = (await readFile(join(inbox, exportFileName(contract, dates[2])), 'latin1')).split('\r\n');
    const repeated = [...lines.slice(0, 13), lines[7]!, ...lines.slice(13)];
    const file = join(root, 'repeated.csv');
    await writeFile(file, repeated.join('\r\n'), 'latin1');
    const failure = await night(diffing, dates[3], file).then(() => undefined, (error: unknown) => error as Error & { type?: string; details?: unknown[] });
    expect(failure?.type).toBe('DuplicateKey');
    expect(failure?.message).toContain(`customer_code = ${lines[7]!.split(';')[0]} appears on lines 8, 14`);
    const [staged] = await diffing.d1.query<{ n: number }>(`SELECT count(*) AS n FROM _stage_customers WHERE _load_id = 'keyed-${dates[3]}'`);
    expect(staged!.results[0]!.n).toBe(repeated.filter((l) => l.length > 0).length - 1);
  }, 120_000);

  it('stages the whole file when the current rows are not the indexed file (a hand edit), and says why', async () => {
    // Someone deletes a current row by hand: the warehouse no longer holds the file of the last load.
    await diffing.d1.query("DELETE FROM customers WHERE _is_current = 1 AND _is_deleted = 0 AND customer_code = (SELECT min(customer_code) FROM customers WHERE _is_current = 1 AND _is_deleted = 0)");
    logs.length = 0;
    const file = join(inbox, exportFileName(contract, dates[3]));
    const fourth = await night(diffing, dates[3], file);
    expect(fourth.diff).toBeUndefined();
    const why = logs.find((entry) => entry.message === 'staging the whole snapshot');
    expect(String(why?.meta?.why)).toMatch(new RegExp(`current rows \\(\\d+ rows, sums \\d+/\\d+\\) are not the file of load keyed-${dates[2]}`));
    // The whole file restored what the hand edit removed: the current rows are the file's.
    const [current] = await diffing.d1.query<{ n: number }>('SELECT count(*) AS n FROM customers_current');
    expect(current!.results[0]!.n).toBe(fourth.rowsStaged);
  }, 120_000);

  it('recognises no record of an index written under another guard (contract, dialect, header): every row is parsed and sent', async () => {
    const [guardLine, ...entries] = (await readFile(keyIndexPathFor(diffing.nas, 'customers', `keyed-${dates[3]}`), 'utf8')).split('\n');
    await rewriteRecordedIndex(diffing, `keyed-${dates[3]}`, [`${guardLine!.split('\t')[0]}\t${'0'.repeat(64)}`, ...entries]);
    const file = join(inbox, exportFileName(contract, dates[4]));
    const fifth = await night(diffing, dates[4], file);
    // Still a diff against the held file (keys, hashes and digest hold), but nothing was taken unparsed.
    expect(fifth.diff).toEqual({ against: `keyed-${dates[3]}`, rowsUnchanged: 0, keysAbsent: await keysMissing(join(inbox, exportFileName(contract, dates[3])), file) });
    expect(fifth.rowsStaged).toBe((await dataLines(file)).length);
    const [current] = await diffing.d1.query<{ n: number }>('SELECT count(*) AS n FROM customers_current');
    expect(current!.results[0]!.n).toBe(fifth.rowsStaged);
  }, 120_000);

  it('a diff spool read as a whole one (a stage of an earlier release) is refused by its digest: the archived file is sent whole', async () => {
    logs.length = 0;
    const file = join(inbox, exportFileName(contract, dates[5]));
    const sixth = await night(diffing, dates[5], file, true);
    expect(sixth.diff).toBeUndefined();
    expect(sixth.rowsStaged).toBe((await dataLines(file)).length);
    const why = logs.find((entry) => entry.message === 'staging from the archived file');
    expect(why?.meta?.why).toBe('the spool differs from what validation wrote (digest)');
  }, 120_000);

  it('does not trust a held index edited in keys/ (a changed record given an unchanged one\'s fingerprint): the whole file, and why', async () => {
    // The attack the recorded digest stops: tomorrow's renamed record fingerprinted as yesterday's, so it would be taken
    // for that record unchanged; its key, hash and controls stay yesterday's, so no D1 digest would notice.
    const heldFile = await dataLines(join(inbox, exportFileName(contract, dates[5])));
    const nextFile = await dataLines(join(inbox, exportFileName(contract, dates[6])));
    const line = nextFile.findIndex((text) => heldFile.includes(text)) + 2; // a record the held file has byte for byte (line 1 is the header)
    const file = await edited(dates[6], [], line - 1);
    const renamed = (await readFile(file)).toString('latin1').split('\r\n')[line - 1]!;
    const code = renamed.split(';')[0]!;
    const index = keyIndexPathFor(diffing.nas, 'customers', `keyed-${dates[5]}`);
    const entries = (await readFile(index, 'utf8')).split('\n');
    const at = entries.findIndex((entry) => entry.split('\t')[1] === JSON.stringify([code]));
    expect(at).toBeGreaterThan(0);
    entries[at] = [recordFingerprint(iconv.decode(Buffer.from(renamed, 'latin1'), 'win1252')), ...entries[at]!.split('\t').slice(1)].join('\t');
    await writeFile(index, entries.join('\n'));
    logs.length = 0;
    const seventh = await night(diffing, dates[6], file);
    expect(seventh.diff).toBeUndefined();
    expect(seventh.rowsStaged).toBe((await dataLines(file)).length);
    const why = logs.find((entry) => entry.message === 'spooling the whole snapshot');
    expect(String(why?.meta?.why)).toMatch(new RegExp(`^the key index ${index} is not the one recorded with its load \\(sha256 [0-9a-f]{64}, recorded [0-9a-f]{64}\\)$`));
    // The rename is in the warehouse: the record was parsed, not taken for yesterday's.
    const [current] = await diffing.d1.query<{ name: string }>('SELECT name FROM customers_current WHERE customer_code = ?', [code]);
    expect(current!.results[0]!.name).toMatch(/ \(renamed\)$/);
  }, 120_000);

  it('does not diff against a held index that is malformed (a control value that is not a number): the whole file, and why', async () => {
    const lines = (await readFile(keyIndexPathFor(diffing.nas, 'customers', `keyed-${dates[6]}`), 'utf8')).split('\n');
    const fields = lines[1]!.split('\t');
    lines[1] = [...fields.slice(0, 3), 'x'].join('\t');
    const index = await rewriteRecordedIndex(diffing, `keyed-${dates[6]}`, lines);
    logs.length = 0;
    const file = join(inbox, exportFileName(contract, dates[7]));
    const eighth = await night(diffing, dates[7], file);
    expect(eighth.diff).toBeUndefined();
    expect(eighth.rowsStaged).toBe((await dataLines(file)).length);
    const why = logs.find((entry) => entry.message === 'spooling the whole snapshot');
    expect(why?.meta?.why).toBe(`the key index ${index} is malformed at line 2`);
  }, 120_000);

  it('a held index whose entry names another key, its digest recorded too (keys/ and D1 both edited), cannot slip past verify: the night is refused by the digest', async () => {
    // Entry 1 (line 2, the file's first record) now claims the key of entry 2: its own key is no longer held.
    const lines = (await readFile(keyIndexPathFor(diffing.nas, 'customers', `keyed-${dates[7]}`), 'utf8')).split('\n');
    const [first, second] = [lines[1]!.split('\t'), lines[2]!.split('\t')];
    lines[1] = [first[0], second[1], ...first.slice(2)].join('\t');
    await rewriteRecordedIndex(diffing, `keyed-${dates[7]}`, lines);
    // The same file without its first record: the untaken entry 1 makes entry 2's key look absent, so the
    // diff tombstones a key the file has and keeps the one it dropped. The count still holds; the digest does not.
    const held = (await readFile(join(inbox, exportFileName(contract, dates[7])), 'latin1')).split('\r\n');
    const file = join(root, exportFileName(contract, dates[8]));
    await writeFile(file, [held[0], ...held.slice(2)].join('\r\n'), 'latin1');
    const failure = await night(diffing, dates[8], file).then(() => undefined, (error: unknown) => error as Error & { type?: string });
    const rows = (await dataLines(file)).length;
    expect(failure?.type).toBe('CountMismatch');
    expect(failure?.message).toContain(`customers ${dates[8]} [${exportFileName(contract, dates[8])}]: current rows are the file's rows (digest of their row hashes): expected ${rows} rows`);
    expect(failure?.message).toMatch(new RegExp(`found ${rows} rows, sums \\d+/\\d+ \\(load keyed-${dates[8]}\\)`));
  }, 120_000);
});
