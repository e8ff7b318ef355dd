import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSigningKey, signApproval } from '../../client/approval-signing.ts';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName } from '../../contracts/types.ts';
import { generateExports } from '../../generator/index.ts';
import {
  approveRollbackSignal,
  approveRollbackUpdate,
  incidentStateQuery,
  incidentWorkflowId,
  manualRollback,
  nightlyRun,
  paritySignOff,
  type ApprovalPayload,
  type IncidentState,
  type NightlySummary,
  type RollbackMode,
} from '../../workflows/index.ts';
import { runWarehouse } from '../support/cli.ts';
import { eventually } from '../support/eventually.ts';
import { runNight, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

const days = ['2026-09-07', '2026-09-08', '2026-09-09', '2026-09-10'];
const [day1, day2, day3] = days as [string, string, string, string];
/** Incident B: products of day 2 arrive corrupt. Incident A: customers of day 3. */
const productsFile = exportFileName(contractFor('products'), day2);
const customersFile = exportFileName(contractFor('customers'), day3);
const incidentA = incidentWorkflowId('customers', day3);
const incidentB = incidentWorkflowId('products', day2);

/** Gives the first data line of a Windows-1252 export one field too many, keeping the good file aside. */
async function corrupt(path: string): Promise<void> {
  await copyFile(path, `${path}.good`);
  const lines = iconv.decode(await readFile(path), 'win1252').split('\r\n');
  lines[1] = `${lines[1]!};EN_TROP`;
  await writeFile(path, iconv.encode(lines.join('\r\n'), 'win1252'));
}

/** Every row of the audit tables, as an auditor would read them. */
async function auditRows(warehouse: IsolatedWarehouse) {
  const read = async (sql: string) => (await warehouse.d1.query<Record<string, unknown>>(sql))[0]?.results ?? [];
  return {
    incidents: await read('SELECT incident_id, table_name, business_date, status, error_type, opened_at, approved_by, rollback_mode FROM etl_incidents ORDER BY incident_id'),
    approvals: await read('SELECT * FROM etl_approvals ORDER BY approval_id'),
    signoffs: await read('SELECT * FROM etl_parity_signoffs ORDER BY signoff_id'),
  };
}

describe('only a key on the worker\'s list approves; every decision is recorded once and survives a restore', () => {
  let warehouse: IsolatedWarehouse;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let paul: Awaited<ReturnType<typeof readSigningKey>>;
  let mallory: Awaited<ReturnType<typeof readSigningKey>>;

  const handleOf = (id: string): WorkflowHandle => warehouse.client.workflow.getHandle(id);
  const stateOf = (id: string): Promise<IncidentState> => handleOf(id).query(incidentStateQuery);
  /** A signed approval of an incident as `warehouse approve` makes it. */
  const signFor = async (id: string, mode: RollbackMode, signer = paul, now = new Date()): Promise<ApprovalPayload> => ({
    ...signApproval(warehouse.config, signer, { action: 'approve-incident', target: id, mode, evidence: (await stateOf(id)).evidence }, now),
    mode,
  });
  const decisionsOf = async (id: string) =>
    (await warehouse.d1.query<{ decided_by: string; mode: string | null; accepted: number; reason: string | null }>('SELECT decided_by, mode, accepted, reason FROM etl_incident_decisions WHERE incident_id = ? ORDER BY decision_id', [id]))[0]?.results;
  const updateEvents = async (id: string) => (await handleOf(id).fetchHistory()).events?.filter((e) => String(e.eventType).includes('UPDATE')).length ?? 0;

  beforeAll(async () => {
    warehouse = await startIsolatedWarehouse();
    await generateExports({ outDir: warehouse.inbox, from: day1, days: days.length, scale: 0.3, seed: 41 });
    await corrupt(join(warehouse.inbox, productsFile));
    await corrupt(join(warehouse.inbox, customersFile));
    worker = await startWorker(warehouse.config);
    paul = await readSigningKey(warehouse.config, warehouse.keys.paul);
    mallory = await readSigningKey(warehouse.config, warehouse.keys.mallory);
    expect((await runNight(warehouse, day1)).status).toBe('ok');
    // Whoever starts a night cannot choose its approvers: the legacy input field is ignored.
    const night2: NightlySummary = await (
      await warehouse.client.workflow.start(nightlyRun, { workflowId: `nightly-${day2}`, taskQueue: warehouse.config.temporal.taskQueue, args: [{ businessDate: day2, approvers: ['mallory'] }] })
    ).result();
    expect(night2.tables.find((t) => t.table === 'products')?.status).toBe('failed');
    expect((await runNight(warehouse, day3)).tables.find((t) => t.table === 'customers')?.status).toBe('failed');
    for (const id of [incidentA, incidentB]) await eventually(() => stateOf(id), (s) => s.alert !== 'pending');
  }, 240_000);
  afterAll(async () => {
    await worker?.stop();
    await warehouse?.close();
  });

  it('rejects malformed approvals in the validator: no trace in history, no row', async () => {
    const handle = handleOf(incidentA);
    const before = await updateEvents(incidentA);
    const malformed: unknown[] = [
      null,
      { statement: 'x', signature: 'y' },
      { mode: 'Rewind', statement: 'x', signature: 'A'.repeat(86) + '==' },
      { ...(await signFor(incidentA, 'rewind')), by: 'paul' },
      'paul',
    ];
    for (const payload of malformed) {
      await expect(handle.executeUpdate(approveRollbackUpdate, { args: [payload as ApprovalPayload] }), JSON.stringify(payload)).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
    }
    expect(await updateEvents(incidentA)).toBe(before);
    expect(await decisionsOf(incidentA)).toEqual([]);
    expect(await stateOf(incidentA)).toMatchObject({ status: 'open', refusals: [] });
  });

  it('refuses and records every forged approval, signal or update; the incident stays open and the table held back', async () => {
    const handle = handleOf(incidentA);
    const valid = await signFor(incidentA, 'rewind');
    const update = (payload: unknown) => handle.executeUpdate(approveRollbackUpdate, { args: [payload as ApprovalPayload] });

    // A typed name and no signature, as `temporal workflow signal` or the Web UI would send it; and a null payload.
    await handle.signal(approveRollbackSignal, { by: 'paul', mode: 'rewind' } as unknown as ApprovalPayload);
    await handle.signal(approveRollbackSignal, null as unknown as ApprovalPayload);
    // The deferred-export signal is loadTable's, but anyone can send one: a malformed one is ignored.
    await handle.signal('exportDeferred', null);
    await handle.signal('exportDeferred', { businessDate: 'yesterday' });
    await eventually(() => stateOf(incidentA), (s) => s.refusals.length === 2);
    // Well-formed but forged: a signature that is not paul's, one of another statement, another incident's statement.
    const wrongSignature = await update({ ...valid, signature: (await signFor(incidentB, 'rewind')).signature });
    const otherIncident = await update({ ...(await signFor(incidentB, 'rewind')), mode: 'rewind' });
    const otherMode = await update({ ...valid, mode: 'time-travel' });
    const expired = await update(await signFor(incidentA, 'rewind', paul, new Date(Date.now() - 20 * 60_000)));
    const foreignKey = await update(await signFor(incidentA, 'rewind', mallory));

    expect(wrongSignature).toMatchObject({ accepted: false, reason: `the signature does not verify with paul's key ${paul.fingerprint}` });
    expect(otherIncident).toMatchObject({ accepted: false, approver: 'paul', reason: `signed for target "${incidentB}", not "${incidentA}"` });
    expect(otherMode).toMatchObject({ accepted: false, approver: 'paul', reason: 'signed for mode "rewind", not "time-travel"' });
    expect(expired).toMatchObject({ accepted: false, approver: 'paul', reason: expect.stringMatching(/^the statement expired at /) });
    expect(foreignKey).toMatchObject({ accepted: false, reason: `key ${mallory.fingerprint} is not one of the worker's approver keys` });
    expect(foreignKey.approver).toBeUndefined();

    const state = await stateOf(incidentA);
    expect(state.status).toBe('open');
    expect(state.deferred).toEqual([]);
    expect(state.approval).toBeUndefined();
    expect(state.refusals).toHaveLength(7);
    const [watermark] = await warehouse.d1.query<{ business_date: string }>('SELECT business_date FROM etl_watermarks WHERE table_name = ?', ['customers']);
    expect(watermark?.results[0]?.business_date).toBe(day2);
    const decisions = await decisionsOf(incidentA);
    expect(decisions).toHaveLength(7);
    expect(decisions?.every((d) => d.accepted === 0)).toBe(true);
    expect(decisions?.map((d) => d.reason)).toEqual([
      'malformed approval: unexpected field(s) "by" (an approval is { mode, statement, signature })',
      'malformed approval: the approval must be an object { mode, statement, signature }',
      wrongSignature.reason,
      otherIncident.reason,
      otherMode.reason,
      expired.reason,
      foreignKey.reason,
    ]);
    expect(decisions?.map((d) => d.decided_by)).toEqual(['(unverified)', '(unverified)', '(unverified)', 'paul', 'paul', 'paul', '(unverified)']);
  });

  it('accepts paul\'s signed approval once: the same statement sent again is a replay', async () => {
    // Incident B's file is still corrupt: the approved repair fails and the incident opens again, so the nonce is what stops the replay.
    const approval = await signFor(incidentB, 'rewind');
    const handle = handleOf(incidentB);
    // Incident B was opened by a night started with approvers: ['mallory']: that list counts for nothing.
    const byMallory = await handle.executeUpdate(approveRollbackUpdate, { args: [await signFor(incidentB, 'rewind', mallory)] });
    expect(byMallory).toMatchObject({ accepted: false, reason: `key ${mallory.fingerprint} is not one of the worker's approver keys` });
    const accepted = await handle.executeUpdate(approveRollbackUpdate, { args: [approval] });
    expect(accepted).toMatchObject({ accepted: true, approver: 'paul', fingerprint: paul.fingerprint, mode: 'rewind' });
    await eventually(() => stateOf(incidentB), (s) => s.lastRepairError !== undefined && s.status === 'open');
    const replayed = await handle.executeUpdate(approveRollbackUpdate, { args: [approval] });
    expect(replayed).toMatchObject({ accepted: false, approver: 'paul', reason: expect.stringMatching(/^the statement's nonce [0-9a-f]{32} was already used: a replayed approval$/) });
    expect((await stateOf(incidentB)).approval).toBeUndefined();
    const [nonces] = await warehouse.d1.query<{ n: number }>('SELECT count(*) AS n FROM etl_approvals WHERE nonce = ? AND nonce_consumed = 1', [JSON.parse(approval.statement).nonce]);
    expect(nonces?.results).toEqual([{ n: 1 }]);
  }, 120_000);

  it('refuses an unsigned or foreign-signed manual rollback and parity sign-off, and records them', async () => {
    const start = <A extends unknown[]>(workflow: (...args: A) => Promise<unknown>, id: string, args: A) =>
      warehouse.client.workflow.execute(workflow, { workflowId: id, taskQueue: warehouse.config.temporal.taskQueue, args });
    const to = new Date().toISOString();
    await expect(start(manualRollback, 'rollback-forged', [{ to, by: 'paul', approvers: ['paul'] }])).rejects.toMatchObject({ cause: { type: 'ApprovalRefused' } });
    const foreign = { ...signApproval(warehouse.config, mallory, { action: 'manual-rollback', target: to, mode: 'time-travel', evidence: { table: null, businessDate: null, sha256: null } }), mode: 'time-travel' as const };
    await expect(start(manualRollback, 'rollback-foreign', [{ to, approval: foreign }])).rejects.toMatchObject({ cause: { type: 'ApprovalRefused' } });
    const sha256 = 'a'.repeat(64);
    const forgedSignOff = signApproval(warehouse.config, mallory, { action: 'parity-signoff', target: 'customers/customer-list', mode: null, evidence: { table: 'customers', businessDate: day3, sha256 } });
    await expect(
      start(paritySignOff, 'signoff-foreign', [{ table: 'customers', query: 'customer-list', sodiwinSha256: sha256, loadedThrough: day3, approval: { mode: null, statement: forgedSignOff.statement, signature: forgedSignOff.signature } }]),
    ).rejects.toMatchObject({ cause: { type: 'ApprovalRefused' } });
    const [rows] = await warehouse.d1.query('SELECT action, accepted, approver FROM etl_approvals WHERE action <> ? ORDER BY approval_id', ['approve-incident']);
    expect(rows?.results).toEqual([
      { action: 'manual-rollback', accepted: 0, approver: null },
      { action: 'manual-rollback', accepted: 0, approver: null },
      { action: 'parity-signoff', accepted: 0, approver: null },
    ]);
    const [signoffs] = await warehouse.d1.query('SELECT count(*) AS n FROM etl_parity_signoffs');
    expect(signoffs?.results).toEqual([{ n: 0 }]);
  });

  it('a time-travel repair of one incident, then a rollback to before both, keep every incident, decision and sign-off', async () => {
    // A sign-off recorded after the bookmark incident A's repair restores to.
    const sha256 = 'b'.repeat(64);
    const signOff = signApproval(warehouse.config, paul, { action: 'parity-signoff', target: 'customers/customer-list', mode: null, evidence: { table: 'customers', businessDate: day2, sha256 }, facts: { rowsCompared: 12, differences: 0, sodiwinFile: 'clients.csv' } });
    const signed = await warehouse.client.workflow.execute(paritySignOff, {
      workflowId: 'signoff-paul',
      taskQueue: warehouse.config.temporal.taskQueue,
      args: [{ table: 'customers', query: 'customer-list', sodiwinSha256: sha256, loadedThrough: day2, approval: { mode: null, statement: signOff.statement, signature: signOff.signature } }],
    });
    expect(signed.signedBy).toBe('paul');
    const before = await auditRows(warehouse);
    expect(before.signoffs).toMatchObject([{ signed_by: 'paul', rows_compared: 12, sodiwin_file: 'clients.csv', sodiwin_sha256: sha256, loaded_through: day2 }]);

    await copyFile(join(warehouse.inbox, `${customersFile}.good`), join(warehouse.inbox, customersFile));
    const approve = await runWarehouse(['approve', incidentA, '--mode', 'time-travel'], warehouse.env);
    expect(approve.code, approve.stderr).toBe(0);
    expect(approve.stdout).toContain(`accepted: paul approved the time-travel repair of ${incidentA}`);
    // Sent while the repair runs: refused (already approved), and on record once the restore is done.
    const during = await handleOf(incidentA).executeUpdate(approveRollbackUpdate, { args: [await signFor(incidentA, 'time-travel')] });
    expect(during).toMatchObject({ accepted: false, approver: 'paul', reason: 'already approved by paul' });
    const repaired = await eventually(() => stateOf(incidentA), (s) => s.status === 'resolved' || s.lastRepairError !== undefined, 180_000);
    expect(repaired.lastRepairError).toBeUndefined();
    expect(repaired.status).toBe('resolved');

    const afterRepair = await auditRows(warehouse);
    expect(afterRepair.approvals.slice(0, before.approvals.length)).toEqual(before.approvals);
    expect(afterRepair.approvals.slice(before.approvals.length).map((a) => [a.target, a.accepted, a.approver, a.reason])).toEqual([
      [incidentA, 1, 'paul', null],
      [incidentA, 0, 'paul', 'already approved by paul'],
    ]);
    expect(afterRepair.signoffs).toEqual(before.signoffs);
    expect(afterRepair.incidents).toEqual(
      before.incidents.map((i) => (i.incident_id === incidentA ? { ...i, status: 'resolved', approved_by: 'paul', rollback_mode: 'time-travel' } : i)),
    );

    // Then the whole warehouse back to before the night of day 2, before both incidents.
    await copyFile(join(warehouse.inbox, `${productsFile}.good`), join(warehouse.inbox, productsFile));
    const outcome = await handleOf(incidentB).executeUpdate(approveRollbackUpdate, { args: [await signFor(incidentB, 'rewind')] });
    expect(outcome.accepted).toBe(true);
    expect((await eventually(() => stateOf(incidentB), (s) => s.status === 'resolved', 180_000)).status).toBe('resolved');
    const beforeRollback = await auditRows(warehouse);
    const [night2] = await warehouse.d1.query<{ taken_at: string }>('SELECT taken_at FROM etl_bookmarks WHERE business_date = ?', [day2]);
    const rollback = await runWarehouse(['rollback', '--to', night2!.results[0]!.taken_at], warehouse.env);
    expect(rollback.code, rollback.stderr).toBe(0);
    const afterRollback = await auditRows(warehouse);
    expect(afterRollback.incidents).toEqual(beforeRollback.incidents);
    expect(afterRollback.signoffs).toEqual(beforeRollback.signoffs);
    expect(afterRollback.approvals.slice(0, beforeRollback.approvals.length)).toEqual(beforeRollback.approvals);
    expect(afterRollback.approvals.slice(beforeRollback.approvals.length)).toMatchObject([{ action: 'manual-rollback', accepted: 1, approver: 'paul' }]);
  }, 600_000);
});
