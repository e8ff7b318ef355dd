import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName } from '../../contracts/types.ts';
import { tableChecksum } from '../../client/checksum.ts';
import { generateExports } from '../../generator/index.ts';
import { runNight, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';
import { parseMessage } from '../support/mail.ts';
import { etlStatusKey } from '../../common/search-attributes.ts';
import { approveRollbackSignal, incidentStateQuery, incidentWorkflowId, type ApprovalPayload } from '../../workflows/index.ts';
import { readSigningKey, signApproval } from '../../client/approval-signing.ts';
import { eventually } from '../support/eventually.ts';

const [day1, day2, day3] = ['2026-06-01', '2026-06-02', '2026-06-03'];

/** Rewrites one field of one data line of a Windows-1252 export, as a corrupt export would have it. */
async function corruptField(path: string, line: number, column: number, value: string): Promise<string> {
  const lines = iconv.decode(await readFile(path), 'win1252').split('\r\n');
  const fields = lines[line - 1]!.split(';');
  const original = fields[column]!;
  fields[column] = value;
  lines[line - 1] = fields.join(';');
  await writeFile(path, iconv.encode(lines.join('\r\n'), 'win1252'));
  return original;
}

describe('a bad file is quarantined, an incident opens and holds the table back', () => {
  let warehouse: IsolatedWarehouse;
  let worker: Awaited<ReturnType<typeof startWorker>>;

  beforeAll(async () => {
    warehouse = await startIsolatedWarehouse();
    await generateExports({ outDir: warehouse.inbox, from: day1, days: 3, scale: 1, seed: 5 });
    worker = await startWorker(warehouse.config);
  });
  afterAll(async () => {
    await worker?.stop();
    await warehouse?.close();
  });

  it('quarantines a file with an invalid row and a missing file; the other tables load', async () => {
    expect((await runNight(warehouse, day1)).status).toBe('ok');
    const customers = contractFor('customers');
    const stock = contractFor('stock');
    const before = { customers: await tableChecksum(warehouse.d1, customers), stock: await tableChecksum(warehouse.d1, stock) };

    const customersFile = exportFileName(customers, day2);
    // The credit limit (9th column) of the 4th customer written with a decimal point.
    await corruptField(join(warehouse.inbox, customersFile), 5, 8, '1500.00');
    await rm(join(warehouse.inbox, exportFileName(stock, day2)));

    const summary = await runNight(warehouse, day2);
    expect(summary.status).toBe('partial');
    const failed = Object.fromEntries(summary.tables.filter((t) => t.status === 'failed').map((t) => [t.table, t]));
    expect(Object.keys(failed).sort()).toEqual(['customers', 'stock']);
    expect(failed.customers).toMatchObject({
      errorType: 'RowValidationFailed',
      message: expect.stringContaining(`customers ${day2} [${customersFile}, line 5, column PLAFOND_CREDIT]: 1 of`),
    });
    expect(failed.customers?.errorType === 'RowValidationFailed' && failed.customers.message).toMatch(/decimal comma expected, found a point \(value "1500\.00"\)/);
    expect(failed.stock).toMatchObject({ errorType: 'ExportMissing' });
    expect(summary.tables.filter((t) => t.status !== 'failed').every((t) => t.status === 'loaded')).toBe(true);

    expect(await tableChecksum(warehouse.d1, customers)).toEqual(before.customers);
    expect(await tableChecksum(warehouse.d1, stock)).toEqual(before.stock);

    const quarantine = join(warehouse.dir, 'nas', 'quarantine', day2);
    expect((await readdir(join(quarantine, 'customers'))).sort()).toEqual([customersFile, 'reason.json'].sort());
    const reason = JSON.parse(await readFile(join(quarantine, 'customers', 'reason.json'), 'utf8'));
    expect(reason).toMatchObject({ table: 'customers', businessDate: day2, file: customersFile, errorType: 'RowValidationFailed', workflowId: `nightly-${day2}-customers-${day2}` });
    expect(reason.details.issues[0]).toEqual({ line: 5, column: 'PLAFOND_CREDIT', value: '1500.00', rule: 'decimal comma expected, found a point' });
    const stockReason = JSON.parse(await readFile(join(quarantine, 'stock', 'reason.json'), 'utf8'));
    // The file that was expected and never came is named.
    expect(stockReason).toMatchObject({ table: 'stock', file: exportFileName(stock, day2), errorType: 'ExportMissing' });

    const [loads] = await warehouse.d1.query<{ status: string; error_type: string }>('SELECT status, error_type FROM etl_loads WHERE table_name = ? AND business_date = ?', ['customers', day2]);
    expect(loads?.results).toEqual([{ status: 'quarantined', error_type: 'RowValidationFailed' }]);
    const [watermark] = await warehouse.d1.query<{ business_date: string }>('SELECT business_date FROM etl_watermarks WHERE table_name = ?', ['customers']);
    expect(watermark?.results[0]?.business_date).toBe(day1);
  }, 180_000);
  it('opens one incident per quarantined table, recorded in D1, with the alert written as .eml when no SMTP is configured', async () => {
    const handle = warehouse.client.workflow.getHandle(incidentWorkflowId('customers', day2));
    const state = await eventually(() => handle.query(incidentStateQuery), (s) => s.alert !== 'pending');
    expect(state).toMatchObject({ incidentId: `incident-customers-${day2}`, status: 'open', errorType: 'RowValidationFailed', alert: 'file', deferred: [], refusals: [] });
    const description = await handle.describe();
    expect(description.typedSearchAttributes.get(etlStatusKey)).toBe('incident-open');

    const [incidents] = await warehouse.d1.query<{ incident_id: string; status: string; alert_via: string }>('SELECT incident_id, status, alert_via FROM etl_incidents ORDER BY incident_id');
    expect(incidents?.results).toEqual([
      { incident_id: `incident-customers-${day2}`, status: 'open', alert_via: 'file' },
      { incident_id: `incident-stock-${day2}`, status: 'open', alert_via: expect.any(String) },
    ]);
    const mailDir = join(warehouse.dir, 'var', 'mail');
    const eml = (await readdir(mailDir)).find((f) => f.includes('incident-customers'));
    const mail = parseMessage(await readFile(join(mailDir, eml!), 'latin1'));
    expect(mail.headers.subject).toBe(`[warehouse] customers ${day2}: RowValidationFailed — Some rows break the agreed format (a number, a date, a code or a required value)`);
    expect(mail.text).toContain(`The warehouse still shows this table as of ${day1}`);
    expect(mail.text).toContain('line 5, column PLAFOND_CREDIT: decimal comma expected, found a point (value "1500.00")');
    expect(mail.text).toContain(`warehouse approve incident-customers-${day2} --mode rewind`);
  });

  it('defers the table on later nights while its incident is open; records refusals; an approval without a corrected file changes nothing', async () => {
    const summary = await runNight(warehouse, day3);
    const customers = summary.tables.find((t) => t.table === 'customers');
    expect(customers).toMatchObject({ status: 'deferred', heldBy: `incident-customers-${day2}` });
    expect(summary.status).toBe('partial');
    const [watermark] = await warehouse.d1.query<{ business_date: string }>('SELECT business_date FROM etl_watermarks WHERE table_name = ?', ['customers']);
    expect(watermark?.results[0]?.business_date).toBe(day1);
    expect(summary.tables.find((t) => t.table === 'orders')?.status).toBe('loaded');
    const customersAfterDay1 = await tableChecksum(warehouse.d1, contractFor('customers'));

    const handle = warehouse.client.workflow.getHandle(incidentWorkflowId('customers', day2));
    expect((await handle.query(incidentStateQuery)).deferred.map((d) => d.businessDate)).toEqual([day3]);

    // A typed name proves nothing: the old-style payload is refused and recorded; Paul's signed approval is accepted.
    await handle.signal(approveRollbackSignal, { by: 'paul', mode: 'rewind' } as unknown as ApprovalPayload);
    const { evidence } = await handle.query(incidentStateQuery);
    expect(evidence).toEqual({ table: 'customers', businessDate: day2, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const signed = signApproval(warehouse.config, await readSigningKey(warehouse.config), { action: 'approve-incident', target: handle.workflowId, mode: 'rewind', evidence });
    await handle.signal(approveRollbackSignal, { ...signed, mode: 'rewind' });
    // Approved before Sodiwin sent a corrected file: the replay of day 2 fails again, nothing is loaded, the incident stays open.
    const state = await eventually(() => handle.query(incidentStateQuery), (s) => s.lastRepairError !== undefined);
    const malformed = 'malformed approval: unexpected field(s) "by" (an approval is { mode, statement, signature })';
    expect(state).toMatchObject({ status: 'open', refusals: [{ reason: malformed }] });
    expect(state.approval).toBeUndefined();
    expect(state.lastRepairError).toContain('RowValidationFailed');
    expect(await tableChecksum(warehouse.d1, contractFor('customers'))).toEqual(customersAfterDay1);
    const [decisions] = await warehouse.d1.query('SELECT decided_by, accepted, reason FROM etl_incident_decisions ORDER BY decision_id');
    expect(decisions?.results).toEqual([
      { decided_by: '(unverified)', accepted: 0, reason: malformed },
      { decided_by: 'paul', accepted: 1, reason: null },
    ]);
  }, 180_000);
});

