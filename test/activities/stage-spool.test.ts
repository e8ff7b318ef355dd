import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nasLayout, type NasLayout } from '../../activities/nas.ts';
import { createStageActivities } from '../../activities/stage.ts';
import { pruneSpools, spoolPathFor } from '../../activities/stage-spool.ts';
import { createValidateActivities, type ValidationReport } from '../../activities/validate.ts';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName, sodiwinDialect } from '../../contracts/types.ts';
import { createD1Client, type D1Client } from '../../d1/client.ts';
import { startLocalD1Service, type LocalD1Service } from '../../d1/local-service/server.ts';
import { generateExports } from '../../generator/index.ts';
import { applyMigrations } from '../../activities/schema.ts';

const businessDate = '2028-08-04';
const contract = contractFor('customers');

let root: string;
let nas: NasLayout;
let service: LocalD1Service;
let d1: D1Client;
let file: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sodimo-spool-'));
  nas = nasLayout(join(root, 'nas'));
  await generateExports({ outDir: nas.inbox, from: businessDate, days: 1, scale: 1, seed: 5 });
  file = join(nas.inbox, exportFileName(contract, businessDate));
  service = await startLocalD1Service({ dataDir: join(root, 'd1'), apiToken: randomBytes(16).toString('hex') });
  d1 = createD1Client({ baseUrl: service.url, accountId: service.accountId, databaseId: service.databaseId, apiToken: service.apiToken });
  await applyMigrations(d1);
}, 60_000);
afterAll(async () => {
  await service?.close();
  await rm(root, { recursive: true, force: true });
});

/** Validates the file under `loadId`: its report names the spool. */
async function validated(loadId: string): Promise<ValidationReport> {
  const activities = createValidateActivities({ d1, nas, rejectTolerance: 0, rejectedRowsCap: 1000, dialect: sodiwinDialect });
  const fetched = { fileName: exportFileName(contract, businessDate), archivePath: file, sha256: loadId, bytes: (await stat(file)).size, loadId, alreadyLoaded: false };
  return new MockActivityEnvironment().run(activities.validateExport, { table: 'customers', businessDate, runId: 'spool-test', fetched });
}

/** Stages the file under `loadId` with the spool given, then reads what `_stage_customers` holds for it, line by line. */
async function staged(loadId: string, spool: ValidationReport['spool']): Promise<unknown[][]> {
  const { stageExport } = createStageActivities({ d1, stageChunkRows: 50, rejectedRowsCap: 1000, dialect: sodiwinDialect });
  await new MockActivityEnvironment().run(stageExport, { table: 'customers', businessDate, loadId, archivePath: file, fileName: exportFileName(contract, businessDate), ...(spool ? { spool } : {}) });
  const [rows] = await d1.query<Record<string, unknown>>('SELECT * FROM _stage_customers WHERE _load_id = ? ORDER BY _line', [loadId]);
  return rows!.results.map(({ _load_id: _ignored, ...rest }) => Object.values(rest));
}

describe('stage sends the rows validation parsed (the spool), and parses the archived file when the spool is not whole', () => {
  it('validation spools every valid row; stage sends them, the same rows as parsing the file, and removes the spool', async () => {
    const report = await validated('spool-a');
    expect(report.spool).toEqual({ path: spoolPathFor(nas, businessDate, 'spool-a'), sha256: expect.stringMatching(/^[0-9a-f]{64}$/), rows: report.rowsValid });
    const fromSpool = await staged('spool-a', report.spool);
    const fromFile = await staged('file-a', undefined);
    expect(fromSpool).toHaveLength(report.rowsValid);
    expect(fromSpool).toEqual(fromFile);
    await expect(stat(report.spool!.path)).rejects.toThrow(/ENOENT/);
  }, 60_000);

  it('a spool edited after validation (its digest differs) is not sent: the rows come from the archived file', async () => {
    const report = await validated('spool-b');
    const text = await readFile(report.spool!.path, 'utf8');
    const [first, ...rest] = text.split('\n');
    const edited = JSON.parse(first!) as unknown[];
    edited[2] = 'EDITED AFTER VALIDATION';
    await writeFile(report.spool!.path, [JSON.stringify(edited), ...rest].join('\n'));
    const rows = await staged('spool-b', report.spool);
    expect(rows).toEqual(await staged('file-b', undefined));
    expect(JSON.stringify(rows)).not.toContain('EDITED AFTER VALIDATION');
  }, 60_000);

  it('a spool that is gone (another machine, a cleaned folder) is not needed: the rows come from the archived file', async () => {
    const report = await validated('spool-c');
    await rm(report.spool!.path);
    expect(await staged('spool-c', report.spool)).toEqual(await staged('file-c', undefined));
  }, 60_000);

  it('a refused file leaves no spool', async () => {
    const text = await readFile(file, 'latin1');
    const broken = join(root, 'broken.csv');
    const lines = text.split('\r\n');
    lines[3] = lines[3]!.replace(/;[^;]*$/, ';not-a-number-or-date');
    await writeFile(broken, lines.join('\r\n'), 'latin1');
    const activities = createValidateActivities({ d1, nas, rejectTolerance: 0, rejectedRowsCap: 1000, dialect: sodiwinDialect });
    const fetched = { fileName: exportFileName(contract, businessDate), archivePath: broken, sha256: 'spool-d', bytes: (await stat(broken)).size, loadId: 'spool-d', alreadyLoaded: false };
    await expect(new MockActivityEnvironment().run(activities.validateExport, { table: 'customers', businessDate, runId: 'spool-test', fetched })).rejects.toThrow();
    await expect(stat(spoolPathFor(nas, businessDate, 'spool-d'))).rejects.toThrow(/ENOENT/);
    await expect(stat(`${spoolPathFor(nas, businessDate, 'spool-d')}.partial`)).rejects.toThrow(/ENOENT/);
  }, 60_000);

  it('spools no stage took are pruned once older than two days; a fresh one is kept', async () => {
    const old = await validated('spool-e');
    await pruneSpools(nas, 2 * 86_400_000, (await stat(old.spool!.path)).mtimeMs + 3 * 86_400_000);
    await expect(stat(old.spool!.path)).rejects.toThrow(/ENOENT/);
    const kept = await validated('spool-g');
    await pruneSpools(nas, 2 * 86_400_000);
    expect((await stat(kept.spool!.path)).isFile()).toBe(true);
  }, 60_000);
});
