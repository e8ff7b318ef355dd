import { cp, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableContracts } from '../../contracts/index.ts';
import { exportFileName } from '../../contracts/types.ts';
import { generateExports } from '../../generator/index.ts';
import { readTruth } from '../../generator/truth.ts';
import { incidentStateQuery, type IncidentState } from '../../workflows/index.ts';
import { nightIncidentWorkflowId } from '../../workflows/incident.ts';
import { runWarehouse } from '../support/cli.ts';
import { eventually } from '../support/eventually.ts';
import { freePort } from '../support/free-port.ts';
import { startSmtpServer } from '../support/mail.ts';
import { currentState } from '../support/truth.ts';
import { allChecksums, runNight, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

const days = ['2026-06-15', '2026-06-16', '2026-06-17'];
const [day1, day2, day3] = days as [string, string, string];
const tables = tableContracts.map((c) => c.table);
const incidentId = nightIncidentWorkflowId(day2);

/**
 * Day 2's whole inbox is missing (the NAS mount is gone, so the folder is not there at the
 * export deadline, which for these past dates has passed): one incident and one email for
 * the night, naming every table, not thirteen. The NAS comes back with day 2's late export
 * and day 3's; day 3 is held back; the signed approval loads both.
 */
describe('a night whose whole inbox is missing', () => {
  let warehouse: IsolatedWarehouse;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  /** Where Sodiwin's exports (and the generator's truth) are kept until they "arrive" in the inbox. */
  let exports: string;

  const stateOf = (): Promise<IncidentState> => warehouse.client.workflow.getHandle(incidentId).query(incidentStateQuery);
  /** Puts a night's export files into the inbox, as Sodiwin's export would. */
  const deliver = async (day: string) => {
    await mkdir(warehouse.inbox, { recursive: true });
    for (const contract of tableContracts) await cp(join(exports, exportFileName(contract, day)), join(warehouse.inbox, exportFileName(contract, day)));
  };

  beforeAll(async () => {
    const port = await freePort();
    smtp = await startSmtpServer(port);
    warehouse = await startIsolatedWarehouse({ SMTP_URL: `smtp://127.0.0.1:${port}` });
    exports = join(warehouse.dir, 'sodiwin-exports');
    await generateExports({ outDir: exports, from: day1, days: days.length, scale: 0.3, seed: 23 });
    await deliver(day1);
    worker = await startWorker(warehouse.config);
  }, 120_000);
  afterAll(async () => {
    await worker?.stop();
    await smtp?.close();
    await warehouse?.close();
  });

  it('opens one incident and sends one email naming the date, the inbox and every table; day 1 stays as it was', async () => {
    expect((await runNight(warehouse, day1)).status).toBe('ok');
    const before = await allChecksums(warehouse.d1);
    await rm(warehouse.inbox, { recursive: true }); // the NAS mount is gone

    const night = await runNight(warehouse, day2);
    expect(night.status).toBe('failed');
    expect(night.tables.map((t) => [t.table, t.status, t.errorType])).toEqual(tables.map((t) => [t, 'failed', 'ExportMissing']));
    for (const t of night.tables) expect(t.status === 'failed' && t.message).toContain(`incident ${incidentId} holds ${t.table} back`);
    // No table load was started for the night: nothing waited thirteen times for the deadline.
    for (const table of tables) await expect(warehouse.client.workflow.getHandle(`nightly-${day2}-${table}-${day2}`).describe()).rejects.toThrow(/not found/i);

    const state = await eventually(stateOf, (s) => s.alert === 'smtp');
    expect(state).toMatchObject({ status: 'open', table: 'inbox', tables, businessDate: day2, errorType: 'ExportMissing', evidence: { table: 'inbox', businessDate: day2, sha256: null } });
    expect(state.message).toContain(`in ${warehouse.inbox} at the deadline`);
    expect(state.message).toContain('the inbox folder does not exist');

    const [incidents] = await warehouse.d1.query<Record<string, unknown>>('SELECT incident_id, table_name, business_date, status, error_type, tables_json, alert_via FROM etl_incidents');
    expect(incidents?.results).toEqual([{ incident_id: incidentId, table_name: 'inbox', business_date: day2, status: 'open', error_type: 'ExportMissing', tables_json: JSON.stringify(tables), alert_via: 'smtp' }]);
    const [loads] = await warehouse.d1.query<{ table_name: string; status: string; error_type: string; error_detail: string }>('SELECT table_name, status, error_type, error_detail FROM etl_loads WHERE business_date = ? ORDER BY table_name', [day2]);
    expect(loads?.results.map((l) => [l.table_name, l.status, l.error_type])).toEqual([...tables].sort().map((t) => [t, 'failed', 'ExportMissing']));
    for (const load of loads?.results ?? []) expect(load.error_detail).toContain(`incident ${incidentId} holds ${load.table_name} back`);

    expect(smtp.received).toHaveLength(1);
    const mail = smtp.received[0]!;
    expect(mail.headers.subject).toBe(`[warehouse] ${day2}: ExportMissing for all ${tables.length} tables — no export of the night in ${warehouse.inbox}`);
    expect(mail.text).toContain(`The inbox folder ${warehouse.inbox} does not exist: the NAS share is probably not mounted`);
    for (const table of tables) expect(mail.text).toContain(`  - ${table}: as of ${day1}\n`);
    expect(mail.text).toContain(`warehouse approve ${incidentId} --mode rewind`);

    const check = await runWarehouse(['status', '--check'], warehouse.env);
    expect(check.code, check.stdout + check.stderr).toBe(2);
    expect(check.stdout).toContain(`CHECK FAILED: incident ${incidentId} is open`);
    const status = await runWarehouse(['status', '--json'], warehouse.env);
    expect(JSON.parse(status.stdout).map((r: { table_name: string; open_incident: string; watermark: string }) => [r.table_name, r.open_incident, r.watermark])).toEqual(tables.map((t) => [t, incidentId, day1]));

    expect(await allChecksums(warehouse.d1)).toEqual(before);
  }, 240_000);

  it('holds the next night back, then the signed approval loads the late export and the night held back', async () => {
    await deliver(day2); // the NAS is back, with Sodiwin's late export of day 2
    await deliver(day3);
    const next = await runNight(warehouse, day3);
    expect(next.tables.map((t) => [t.table, t.status, 'heldBy' in t ? t.heldBy : undefined])).toEqual(tables.map((t) => [t, 'deferred', incidentId]));
    const held = await eventually(stateOf, (s) => s.deferred.length === tables.length);
    expect(held.deferred.map((d) => [d.businessDate, d.table])).toEqual([...tables].sort().map((t) => [day3, t]));

    const listed = await runWarehouse(['incidents', '--json'], warehouse.env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject([{ incident_id: incidentId, status: 'open', error_type: 'ExportMissing', state: { status: 'open', tables } }]);

    const mallory = await runWarehouse(['approve', incidentId, '--mode', 'rewind', '--key', warehouse.keys.mallory], warehouse.env);
    expect(mallory.code).toBe(1);
    expect(mallory.stderr).toMatch(/refused: key SHA256:\S+ is not one of the worker's approver keys/);
    const paul = await runWarehouse(['approve', incidentId, '--mode', 'rewind', '--wait'], warehouse.env);
    expect(paul.code, paul.stdout + paul.stderr).toBe(0);
    expect(paul.stdout).toContain(`accepted: paul approved the rewind repair of ${incidentId}`);
    expect(paul.stdout).toContain(`resolved: replayed ${day2}, ${day3}`);

    // Every table now holds day 3 exactly as Sodiwin's ground truth has it, through day 2's loaded history.
    const truth = await readTruth(exports, day3);
    for (const contract of tableContracts) expect(await currentState(warehouse.d1, contract), contract.table).toEqual(truth.tables[contract.table]!.current);
    const [verified] = await warehouse.d1.query<{ business_date: string; n: number }>("SELECT business_date, count(DISTINCT table_name) AS n FROM etl_loads WHERE status = 'verified' GROUP BY business_date ORDER BY business_date");
    expect(verified?.results).toEqual(days.map((d) => ({ business_date: d, n: tables.length })));
    const [incident] = await warehouse.d1.query('SELECT status, approved_by, rollback_mode FROM etl_incidents');
    expect(incident?.results).toEqual([{ status: 'resolved', approved_by: 'paul', rollback_mode: 'rewind' }]);
    expect(smtp.received).toHaveLength(1);
  }, 300_000);
});
