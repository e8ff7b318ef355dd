import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName } from '../../contracts/types.ts';
import { generateExports } from '../../generator/index.ts';
import { incidentStateQuery, incidentWorkflowId } from '../../workflows/index.ts';
import { runWarehouse } from '../support/cli.ts';
import { eventually } from '../support/eventually.ts';
import { freePort } from '../support/free-port.ts';
import { saveHistories } from '../support/histories.ts';
import { startSmtpServer } from '../support/mail.ts';
import { allChecksums, runNight, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';
import { faults } from '../support/worker-process.ts';

const days = ['2027-09-06', '2027-09-07', '2027-09-08'];
const badDay = days[1]!;
/** The nights of the second scenario, where the repair's own replay fails and cannot be reverted. */
const repairDays = ['2028-05-03', '2028-05-04', '2028-05-05'];
const customersFile = (day: string) => exportFileName(contractFor('customers'), day);
/** What D1 answers when the database has reached its size limit: a SQL error, not retried. */
const databaseFull = { kind: 'd1-error', status: 400, code: 7500, message: 'D1_ERROR: database or disk is full: SQLITE_FULL', count: 1, retryAfterSeconds: 0 } as const;

/** A warehouse with its own worker, fed the same generated exports. */
async function warehouseWithWorker(extraEnv: Record<string, string> = {}, nights: string[] = days) {
  const warehouse = await startIsolatedWarehouse(extraEnv);
  await generateExports({ outDir: warehouse.inbox, from: nights[0]!, days: nights.length, scale: 0.3, seed: 29 });
  const worker = await startWorker(warehouse.config);
  return { warehouse, worker };
}

/**
 * Sodiwin's corrected export of the bad day: one customer whose row changed that day gets
 * another name. The corrected file is another file (another load id), so a repair that left
 * the first load's versions in place would show them.
 */
async function correctBadDay(inbox: string, nights: string[] = days, correction = ' CORRIGE'): Promise<void> {
  const [dayBefore, dayBad] = [nights[0]!, nights[1]!];
  const read = async (day: string) => iconv.decode(await readFile(join(inbox, customersFile(day))), 'win1252').split('\r\n');
  const [before, bad] = [await read(dayBefore), await read(dayBad)];
  const keyOf = (line: string) => line.split(';')[0];
  const previous = new Map(before.slice(1).map((line) => [keyOf(line), line]));
  // A plain line (no quoted field) that the bad day changed.
  const index = bad.findIndex((line, i) => i > 0 && line !== '' && !line.includes('"') && previous.get(keyOf(line)) !== line);
  expect(index, 'a customer changed on the bad day').toBeGreaterThan(0);
  const fields = bad[index]!.split(';');
  fields[1] = `${fields[1]}${correction}`;
  bad[index] = fields.join(';');
  await writeFile(join(inbox, customersFile(dayBad)), iconv.encode(bad.join('\r\n'), 'win1252'));
}

describe('a load whose revert fails still reaches the quarantine and the incident, whose repair reverts it again', () => {
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let clean: Awaited<ReturnType<typeof warehouseWithWorker>>;
  let failing: Awaited<ReturnType<typeof warehouseWithWorker>>;

  beforeAll(async () => {
    const port = await freePort();
    smtp = await startSmtpServer(port);
    [clean, failing] = await Promise.all([warehouseWithWorker(), warehouseWithWorker({ SMTP_URL: `smtp://127.0.0.1:${port}` })]);
    // The reference: every night loaded, the corrected export of the bad day from the start.
    await correctBadDay(clean.warehouse.inbox);
    for (const day of days) expect((await runNight(clean.warehouse, day)).status).toBe('ok');
  }, 240_000);
  afterAll(async () => {
    for (const w of [clean, failing]) {
      await w?.worker.stop();
      await w?.warehouse.close();
    }
    await smtp?.close();
  });

  it('quarantines the file, opens the incident, says in the email that the revert did not complete, and the approved rewind ends as a clean run', async () => {
    const warehouse: IsolatedWarehouse = failing.warehouse;
    expect((await runNight(warehouse, days[0]!)).status).toBe('ok');
    const before = await allChecksums(warehouse.d1);

    // D1 is full on the bad night: the customers load publishes, its verify is refused, then its revert.
    await faults(warehouse, 'POST', { ...databaseFull, match: 'SELECT count(*) AS n FROM \\"customers\\" WHERE _closed_by = ?' });
    await faults(warehouse, 'POST', { ...databaseFull, match: 'DELETE FROM etl_watermarks WHERE table_name = ? AND load_id = ?' });
    const night = await runNight(warehouse, badDay);
    expect((await faults(warehouse, 'GET')).pending).toEqual([]);
    const customers = night.tables.find((t) => t.table === 'customers');
    expect(customers).toMatchObject({ status: 'failed', errorType: 'D1SqlError' });
    expect(night.tables.filter((t) => t.table !== 'customers').map((t) => t.status)).toEqual(Array(12).fill('loaded'));

    const [load] = await warehouse.d1.query<{ load_id: string; status: string; error_type: string }>("SELECT load_id, status, error_type FROM etl_loads WHERE table_name = 'customers' AND business_date = ?", [badDay]);
    expect(load?.results).toEqual([{ load_id: expect.stringMatching(new RegExp(`^${badDay}_customers_`)), status: 'quarantined', error_type: 'D1SqlError' }]);
    const loadId = load!.results[0]!.load_id;
    // The revert really did not happen: the load's versions are in the table.
    const [left] = await warehouse.d1.query<{ n: number }>('SELECT count(*) AS n FROM customers WHERE _loaded_by = ? OR _closed_by = ?', [loadId, loadId]);
    expect(left!.results[0]!.n).toBeGreaterThan(0);
    const revertError = 'SQL rejected (HTTP 400, code 7500): D1_ERROR: database or disk is full: SQLITE_FULL';

    // The file is quarantined all the same.
    const quarantine = join(warehouse.dir, 'nas', 'quarantine', badDay, 'customers');
    expect((await readdir(quarantine)).sort()).toEqual([customersFile(badDay), 'reason.json']);
    expect(JSON.parse(await readFile(join(quarantine, 'reason.json'), 'utf8'))).toMatchObject({ table: 'customers', businessDate: badDay, errorType: 'D1SqlError', loadId });

    // The incident is open and says the revert did not complete.
    const incidentId = incidentWorkflowId('customers', badDay);
    const state = await eventually(() => warehouse.client.workflow.getHandle(incidentId).query(incidentStateQuery), (s) => s.alert === 'smtp');
    expect(state).toMatchObject({ status: 'open', errorType: 'D1SqlError', quarantineDir: quarantine, unreverted: { loadId, error: expect.stringContaining(revertError) } });
    expect(state.message).toContain(`[and: the revert of load ${loadId} did not complete, customers may hold part of its ${badDay} load: `);
    const [incidents] = await warehouse.d1.query<{ incident_id: string; status: string; error_type: string; error_detail: string }>('SELECT incident_id, status, error_type, error_detail FROM etl_incidents');
    expect(incidents?.results).toEqual([{ incident_id: incidentId, status: 'open', error_type: 'D1SqlError', error_detail: state.message }]);
    expect(incidents!.results[0]!.error_detail).toContain(revertError);

    // One email, which does not claim the previous day is intact.
    expect(smtp.received).toHaveLength(1);
    const mail = smtp.received[0]!;
    expect(mail.headers.subject).toContain(`customers ${badDay}: D1SqlError`);
    expect(mail.text).toContain(`WARNING: the revert of this load did not complete, so table customers may hold part of the ${badDay} load (load ${loadId}).`);
    expect(mail.text).toContain(`The revert failed with: `);
    expect(mail.text).toContain(revertError);
    expect(mail.text).toContain('a rewind repair reverts the load again before it replays the day');
    expect(mail.text).not.toContain('nothing from the bad file was kept');

    // The next night holds customers back; Sodiwin sends a corrected export; paul approves a rewind.
    const next = await runNight(warehouse, days[2]!);
    expect(next.tables.find((t) => t.table === 'customers')).toMatchObject({ status: 'deferred', heldBy: incidentId });
    await correctBadDay(warehouse.inbox);
    const approved = await runWarehouse(['approve', incidentId, '--mode', 'rewind', '--wait'], warehouse.env);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toContain(`resolved: replayed ${days.slice(1).join(', ')}`);
    const after = await allChecksums(warehouse.d1);
    expect(after).toEqual(await allChecksums(clean.warehouse.d1));
    expect(after.find((c) => c.table === 'customers')).not.toEqual(before.find((c) => c.table === 'customers'));
    const [stillThere] = await warehouse.d1.query<{ n: number }>('SELECT count(*) AS n FROM customers WHERE _loaded_by = ? OR _closed_by = ?', [loadId, loadId]);
    expect(stillThere!.results[0]!.n).toBe(0);
    const repaired = await warehouse.client.workflow.getHandle(incidentId).query(incidentStateQuery);
    expect(repaired).toMatchObject({ status: 'resolved', replayed: days.slice(1) });
    expect(repaired.unreverted).toBeUndefined();
    expect(repaired.lastRepairError).toBeUndefined();
    if (process.env.RECORD_HISTORIES) await saveHistories(inject('temporal'), [incidentId, `nightly-${badDay}`, `nightly-${badDay}-customers-${badDay}`], process.env.RECORD_HISTORIES, 'revert-failed');
  }, 300_000);
});

describe('a repair whose replayed load fails and cannot be reverted leaves that load to the next repair', () => {
  const [firstDay, failedDay, nextDay] = repairDays as [string, string, string];
  let clean: Awaited<ReturnType<typeof warehouseWithWorker>>;
  let failing: Awaited<ReturnType<typeof warehouseWithWorker>>;

  beforeAll(async () => {
    [clean, failing] = await Promise.all([warehouseWithWorker({}, repairDays), warehouseWithWorker({}, repairDays)]);
    await correctBadDay(clean.warehouse.inbox, repairDays);
    for (const day of repairDays) expect((await runNight(clean.warehouse, day)).status).toBe('ok');
  }, 240_000);
  afterAll(async () => {
    for (const w of [clean, failing]) {
      await w?.worker.stop();
      await w?.warehouse.close();
    }
  });

  it('records the replay that was not reverted in the incident, and the next approved rewind reverts it and ends as a clean run', async () => {
    const warehouse: IsolatedWarehouse = failing.warehouse;
    const verifyCount = 'SELECT count(*) AS n FROM \\"customers\\" WHERE _closed_by = ?';
    expect((await runNight(warehouse, firstDay)).status).toBe('ok');
    // The bad night: customers' verify is refused, its revert completes; the next night is held back.
    await faults(warehouse, 'POST', { ...databaseFull, match: verifyCount });
    expect((await runNight(warehouse, failedDay)).tables.find((t) => t.table === 'customers')).toMatchObject({ status: 'failed', errorType: 'D1SqlError' });
    const incidentId = incidentWorkflowId('customers', failedDay);
    const opened = await eventually(() => warehouse.client.workflow.getHandle(incidentId).query(incidentStateQuery), (s) => s.status === 'open');
    expect(opened.unreverted).toBeUndefined();
    expect((await runNight(warehouse, nextDay)).tables.find((t) => t.table === 'customers')).toMatchObject({ status: 'deferred', heldBy: incidentId });

    // A first corrected export comes (still not the final one); during the approved rewind D1 refuses its replay's verify, then its revert.
    const badFile = join(warehouse.inbox, customersFile(failedDay));
    const asSent = await readFile(badFile);
    await correctBadDay(warehouse.inbox, repairDays, ' PROVISOIRE');
    await faults(warehouse, 'POST', { ...databaseFull, match: verifyCount });
    await faults(warehouse, 'POST', { ...databaseFull, match: 'DELETE FROM etl_watermarks WHERE table_name = ? AND load_id = ?' });
    const firstApproval = await runWarehouse(['approve', incidentId, '--mode', 'rewind', '--wait'], warehouse.env);
    expect(firstApproval.code).toBe(1);
    expect(firstApproval.stderr).toContain('the repair did not complete, the incident is open again: D1SqlError');
    expect((await faults(warehouse, 'GET')).pending).toEqual([]);
    const [loads] = await warehouse.d1.query<{ load_id: string; status: string }>("SELECT load_id, status FROM etl_loads WHERE table_name = 'customers' AND business_date = ? ORDER BY started_at", [failedDay]);
    expect(loads!.results.map((l) => l.status)).toEqual(['quarantined', 'quarantined']);
    const replayId = loads!.results[1]!.load_id;
    const partial = () => warehouse.d1.query<{ n: number }>('SELECT count(*) AS n FROM customers WHERE _loaded_by = ? OR _closed_by = ?', [replayId, replayId]);
    expect((await partial())[0]!.results[0]!.n).toBeGreaterThan(0);
    const reopened = await warehouse.client.workflow.getHandle(incidentId).query(incidentStateQuery);
    expect(reopened).toMatchObject({ status: 'open', unreverted: { loadId: replayId, error: expect.stringContaining('SQLITE_FULL') } });

    // Sodiwin's final correction comes; the next approval reverts the first correction's load before it replays:
    // no version of the warehouse comes from a load that was not verified.
    await writeFile(badFile, asSent);
    await correctBadDay(warehouse.inbox, repairDays);
    const secondApproval = await runWarehouse(['approve', incidentId, '--mode', 'rewind', '--wait'], warehouse.env);
    expect(secondApproval.code, secondApproval.stderr).toBe(0);
    expect((await partial())[0]!.results[0]!.n).toBe(0);
    const [lineage] = await warehouse.d1.query<{ load_id: string; status: string | null }>(
      'SELECT DISTINCT c._loaded_by AS load_id, l.status FROM customers AS c LEFT JOIN etl_loads AS l ON l.load_id = c._loaded_by WHERE l.status IS NULL OR l.status <> ?',
      ['verified'],
    );
    expect(lineage!.results).toEqual([]);
    expect(await allChecksums(warehouse.d1)).toEqual(await allChecksums(clean.warehouse.d1));
    const resolved = await warehouse.client.workflow.getHandle(incidentId).query(incidentStateQuery);
    expect(resolved).toMatchObject({ status: 'resolved', replayed: [failedDay, nextDay] });
    expect(resolved.unreverted).toBeUndefined();
    if (process.env.RECORD_HISTORIES) await saveHistories(inject('temporal'), [incidentId], process.env.RECORD_HISTORIES, 'repair-keeps-unreverted');
  }, 300_000);
});
