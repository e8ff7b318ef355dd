import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName } from '../../contracts/types.ts';
import { generateExports } from '../../generator/index.ts';
import { incidentStateQuery, incidentWorkflowId, type IncidentState, type RollbackMode } from '../../workflows/index.ts';
import { runWarehouse } from '../support/cli.ts';
import { recordHistoriesOf, saveHistories } from '../support/histories.ts';
import { allChecksums, runNight, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

const days = ['2026-08-03', '2026-08-04', '2026-08-05', '2026-08-06', '2026-08-07'];
const badDay = days[2]!;
const ordersFile = exportFileName(contractFor('orders'), badDay);

/** A warehouse with its own worker, fed the same generated exports. */
async function warehouseWithWorker(source: string) {
  const warehouse = await startIsolatedWarehouse();
  await generateExports({ outDir: warehouse.inbox, from: days[0]!, days: days.length, scale: 0.3, seed: 13 });
  const worker = await startWorker(warehouse.config);
  return { warehouse, worker, source };
}

/**
 * Day 3's orders file is corrupt; days 4 and 5 arrive; then the corrected day 3 arrives;
 * an unauthorised approval is refused; Paul approves. The warehouse must end exactly as a
 * clean five-day run over the corrected files.
 */
async function badWeek(warehouse: IsolatedWarehouse, mode: RollbackMode): Promise<IncidentState> {
  const path = join(warehouse.inbox, ordersFile);
  await copyFile(path, `${path}.good`);
  const text = iconv.decode(await readFile(path), 'win1252');
  await writeFile(path, iconv.encode(text.replace(/;VALIDEE;/, ';EN_ATTENTE;'), 'win1252')); // an unknown status on one line

  for (const day of days) {
    const summary = await runNight(warehouse, day);
    const orders = summary.tables.find((t) => t.table === 'orders');
    expect(orders?.status, `orders on ${day}`).toBe(day === badDay ? 'failed' : day > badDay ? 'deferred' : 'loaded');
  }
  await copyFile(`${path}.good`, path); // Sodiwin sends the corrected export

  const incidentId = incidentWorkflowId('orders', badDay);
  const listed = await runWarehouse(['incidents', '--json'], warehouse.env);
  expect(listed.code, listed.stderr).toBe(0);
  expect(JSON.parse(listed.stdout)).toMatchObject([{ incident_id: incidentId, status: 'open', error_type: 'RowValidationFailed', state: { deferred: [{ businessDate: days[3] }, { businessDate: days[4] }] } }]);

  // mallory has a key of her own, but it is not in the worker's list.
  const mallory = await runWarehouse(['approve', incidentId, '--mode', mode, '--key', warehouse.keys.mallory], warehouse.env);
  expect(mallory.code).toBe(1);
  // Said once: what was refused, then why.
  expect(lines0(mallory.stderr)).toMatch(new RegExp(`^warehouse: the ${mode} repair of ${incidentId} refused: key SHA256:\\S+ is not one of the worker's approver keys$`));
  const paul = await runWarehouse(['approve', incidentId, '--mode', mode, '--wait'], warehouse.env);
  expect(paul.code, paul.stderr).toBe(0);
  expect(paul.stdout).toContain(`accepted: paul approved the ${mode} repair of ${incidentId}`);
  expect(paul.stdout).toContain(`resolved: replayed ${days.slice(2).join(', ')}`);
  if (process.env.RECORD_HISTORIES && mode === 'rewind') await saveHistories(inject('temporal'), [incidentId, `nightly-${badDay}-orders-${badDay}`], process.env.RECORD_HISTORIES);
  if (mode === 'time-travel') await recordHistoriesOf(warehouse, 'incident', { status: 'Completed', variant: 'time-travel' });
  return warehouse.client.workflow.getHandle(incidentId).query(incidentStateQuery);
}

describe('a bad day, repaired after approval, ends as if it had never happened', () => {
  let clean: Awaited<ReturnType<typeof warehouseWithWorker>>;
  let rewind: Awaited<ReturnType<typeof warehouseWithWorker>>;
  let timeTravel: Awaited<ReturnType<typeof warehouseWithWorker>>;

  beforeAll(async () => {
    [clean, rewind, timeTravel] = await Promise.all([warehouseWithWorker('clean'), warehouseWithWorker('rewind'), warehouseWithWorker('time-travel')]);
    for (const day of days) expect((await runNight(clean.warehouse, day)).status).toBe('ok');
  });
  afterAll(async () => {
    for (const w of [clean, rewind, timeTravel]) {
      await w?.worker.stop();
      await w?.warehouse.close();
    }
  });

  it.each(['rewind', 'time-travel'] as const)("%s: refuses mallory's key, replays the corrected day 3 and the deferred days 4 and 5", async (mode) => {
    const { warehouse } = mode === 'rewind' ? rewind : timeTravel;
    const state = await badWeek(warehouse, mode);
    expect(state.lastRepairError).toBeUndefined();
    expect(state).toMatchObject({ status: 'resolved', approval: { by: 'paul', mode, fingerprint: expect.stringMatching(/^SHA256:/) }, replayed: days.slice(2) });
    expect(state.refusals).toEqual([{ mode, reason: expect.stringMatching(/^key SHA256:\S+ is not one of the worker's approver keys$/), decisionId: expect.any(String) }]);
    expect(state.deferred.map((d) => d.businessDate)).toEqual(days.slice(3));
    expect(await allChecksums(warehouse.d1)).toEqual(await allChecksums(clean.warehouse.d1));
    const [incident] = await warehouse.d1.query('SELECT status, approved_by, rollback_mode FROM etl_incidents');
    expect(incident?.results).toEqual([{ status: 'resolved', approved_by: 'paul', rollback_mode: mode }]);
    // Both decisions are on record once each, the time-travel restore notwithstanding.
    const [decisions] = await warehouse.d1.query('SELECT decided_by, mode, accepted FROM etl_incident_decisions ORDER BY decision_id');
    expect(decisions?.results).toEqual([
      { decided_by: '(unverified)', mode, accepted: 0 },
      { decided_by: 'paul', mode, accepted: 1 },
    ]);
  }, 300_000);
  it('warehouse rollback --to restores the whole warehouse to before a night and replays every load since', async () => {
    const { warehouse } = clean;
    const before = await allChecksums(warehouse.d1);
    const [night3] = await warehouse.d1.query<{ taken_at: string }>('SELECT taken_at FROM etl_bookmarks WHERE business_date = ?', [badDay]);
    const to = night3!.results[0]!.taken_at;

    const refused = await runWarehouse(['rollback', '--to', to, '--key', warehouse.keys.mallory], warehouse.env);
    expect(refused.code).toBe(1);
    expect(lines0(refused.stderr)).toMatch(new RegExp(`^warehouse: rollback to ${new Date(to).toISOString()} refused: key SHA256:\\S+ is not one of the worker's approver keys$`));
    expect(await allChecksums(warehouse.d1)).toEqual(before);

    const rollback = await runWarehouse(['rollback', '--to', to], warehouse.env);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(rollback.stdout).toContain(`replayed 39 loads: ${days.slice(2).join(', ')}`);
    expect(rollback.stdout).toContain('approved by paul');
    if (process.env.RECORD_HISTORIES) await saveHistories(inject('temporal'), [`rollback-${new Date(to).toISOString().replace(/[:.]/g, '-')}`], process.env.RECORD_HISTORIES);
    // The refusal and the approval of the rollback are both on record, restore or not.
    const [decisions] = await warehouse.d1.query('SELECT action, approver, accepted FROM etl_approvals ORDER BY approval_id');
    expect(decisions?.results).toEqual([
      { action: 'manual-rollback', approver: null, accepted: 0 },
      { action: 'manual-rollback', approver: 'paul', accepted: 1 },
    ]);
    // The restore undid the runs of nights 3 to 5 (their etl_runs rows are gone); the replay rebuilt the same history.
    const [runs] = await warehouse.d1.query<{ business_date: string }>('SELECT business_date FROM etl_runs ORDER BY business_date');
    expect(runs?.results.map((r) => r.business_date)).toEqual(days.slice(0, 2));
    expect(await allChecksums(warehouse.d1)).toEqual(before);
  }, 300_000);
});

/** The first line of a CLI's output. */
function lines0(text: string): string {
  return text.split('\n')[0] ?? '';
}
