import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName } from '../../contracts/types.ts';
import { generateExports } from '../../generator/index.ts';
import { readTruth } from '../../generator/truth.ts';
import { incidentWorkflowId, nightlyRun, nightlyWorkflowId, progressQuery } from '../../workflows/index.ts';
import { localActivityOf } from '../../client/local-activity-marker.ts';
import { loadStepQuery, tableStageSignal, type TableStageReport } from '../../workflows/messages.ts';
import { runWarehouse } from '../support/cli.ts';
import { saveHistories } from '../support/histories.ts';
import { eventually } from '../support/eventually.ts';
import { startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

/** A night of three tables: customers loads, products' file has a wrong header (quarantined), orders' file is late. */
const night = '2028-07-03';
const tables = ['customers', 'products', 'orders'];

/** The late table's load: its fetch waits for COMMANDES_20280703.csv until the default deadline, 06:00 Paris time the next morning. */
const ordersChild = `${nightlyWorkflowId(night)}-orders-${night}`;

/** A payload of user metadata or heartbeat details, as the Web UI decodes it. */
const decoded = (payload: unknown): unknown => (payload ? defaultPayloadConverter.fromPayload(payload as never) : undefined);

describe("the Web UI explains a night: list filters (BusinessDate, EtlTable, EtlStatus), summaries, heartbeats", () => {
  let warehouse: IsolatedWarehouse;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let nightly: WorkflowHandle<typeof nightlyRun>;

  /** The workflow ids a visibility query lists (as the Web UI's search box runs it), sorted. */
  const listed = async (query: string): Promise<string[]> => {
    const ids: string[] = [];
    for await (const execution of warehouse.client.workflow.list({ query })) ids.push(execution.workflowId);
    return ids.sort();
  };

  beforeAll(async () => {
    warehouse = await startIsolatedWarehouse({ EXPORT_POLL_MS: '200' });
    await generateExports({ outDir: warehouse.inbox, from: night, days: 1, scale: 1, seed: 11 });
    await rm(join(warehouse.inbox, exportFileName(contractFor('orders'), night)));
    const products = join(warehouse.inbox, exportFileName(contractFor('products'), night));
    const lines = iconv.decode(await readFile(products), 'win1252').split('\r\n');
    lines[0] = lines[0]!.replace(/^[^;]+/, 'CODE_ARTICLE_FAUX');
    await writeFile(products, iconv.encode(lines.join('\r\n'), 'win1252'));
    worker = await startWorker(warehouse.config);
    nightly = await warehouse.client.workflow.start(nightlyRun, {
      workflowId: nightlyWorkflowId(night),
      taskQueue: warehouse.config.temporal.taskQueue,
      args: [{ businessDate: night, tables, recheckDays: 0 }],
    });
  }, 60_000);
  afterAll(async () => {
    // The night waits for orders until 06:00 the next morning: end it (its children go with it) and the incident.
    await nightly?.terminate('test over').catch(() => undefined);
    await warehouse?.client.workflow.getHandle(incidentWorkflowId('products', night)).terminate('test over').catch(() => undefined);
    await worker?.stop();
    await warehouse?.close();
  });

  it('"BusinessDate = D AND ExecutionStatus = Running" lists the night and the table still waiting for its file', async () => {
    const query = `BusinessDate = '${night}' AND ExecutionStatus = 'Running'`;
    // The incident outlives the night (it waits for an approval); customers is loaded, products quarantined.
    const expected = [incidentWorkflowId('products', night), nightlyWorkflowId(night), ordersChild].sort();
    const running = await eventually(() => listed(query), (ids) => ids.join() === expected.join(), 90_000);
    expect(running).toEqual(expected);
    expect(await listed(`BusinessDate = '${night}' AND ExecutionStatus = 'Running' AND EtlStatus = 'running'`)).toEqual([nightlyWorkflowId(night), ordersChild].sort());
  }, 120_000);

  it('"EtlTable = T" lists that table\'s load of the night, with how it ended', async () => {
    const query = `EtlTable = 'customers' AND BusinessDate = '${night}'`;
    const loaded = await eventually(() => listed(`${query} AND EtlStatus = 'loaded'`), (ids) => ids.length === 1, 60_000);
    expect(loaded).toEqual([`${nightlyWorkflowId(night)}-customers-${night}`]);
    expect(await listed(`EtlTable = 'products' AND BusinessDate = '${night}' AND EtlStatus = 'quarantined'`)).toEqual([`${nightlyWorkflowId(night)}-products-${night}`]);
  }, 90_000);

  it('"EtlStatus = incident-open" lists the open incident, found by its table too', async () => {
    const open = await eventually(() => listed(`EtlStatus = 'incident-open' AND BusinessDate = '${night}'`), (ids) => ids.length === 1, 60_000);
    expect(open).toEqual([incidentWorkflowId('products', night)]);
    expect(await listed(`EtlStatus = 'incident-open' AND EtlTable = 'products' AND BusinessDate = '${night}'`)).toEqual([incidentWorkflowId('products', night)]);
  }, 90_000);

  it('the waiting fetch is summarised with its file and deadline, and its heartbeat says what it waits for', async () => {
    const child = warehouse.client.workflow.getHandle(ordersChild);
    const pending = await eventually(
      async () => (await child.describe()).raw.pendingActivities ?? [],
      (activities) => activities.some((a) => (decoded(a.heartbeatDetails?.payloads?.[0]) as { status?: string } | undefined)?.status?.includes('not there yet')),
      60_000,
    );
    const fetch = pending.find((a) => a.activityType?.name === 'fetchExport');
    const beat = decoded(fetch?.heartbeatDetails?.payloads?.[0]) as { status: string; until: string };
    expect(beat.status).toBe(`waiting for COMMANDES_20280703.csv in ${join(warehouse.dir, 'nas', 'inbox')} until 2028-07-04 06:00 Europe/Paris: not there yet`);

    const events = (await child.fetchHistory()).events!;
    // The first look, a local activity, did not find the file: the wait is an activity of its own, heartbeating.
    expect(events.flatMap((e) => localActivityOf(e) ?? []).map((l) => [l.type, l.summary])).toEqual([['fetchReadyExport', 'fetch COMMANDES_20280703.csv if it is there and complete']]);
    const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes);
    expect(scheduled.map((e) => [e.activityTaskScheduledEventAttributes!.activityType!.name, decoded(e.userMetadata?.summary)])).toEqual([
      ['fetchExport', 'fetch COMMANDES_20280703.csv — waiting until 2028-07-04 06:00 Europe/Paris at the latest'],
    ]);
    expect(await (await child.describe()).staticSummary()).toBe('load orders 2028-07-03 from COMMANDES_20280703.csv');
  }, 90_000);

  it('every activity and child workflow of the night, and of a table that loaded, carries a summary', async () => {
    // Activities, local activities (a small file's steps: one marker each) and child workflows, in their order.
    const summaries = async (workflowId: string) =>
      ((await warehouse.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [])
        .filter((e) => e.activityTaskScheduledEventAttributes || e.startChildWorkflowExecutionInitiatedEventAttributes || localActivityOf(e))
        .map((e) => [
          e.activityTaskScheduledEventAttributes?.activityType?.name ?? e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name ?? `${localActivityOf(e)!.type} (local)`,
          decoded(e.userMetadata?.summary),
        ]);
    const nightSteps = await summaries(nightlyWorkflowId(night));
    // The lease is the warehouse's, not the night's: started once, it is named by its id.
    expect(nightSteps.filter(([type]) => type !== 'workerTaskQueue (local)' && type !== 'warehouseLease')).toEqual([
      ['beginRun', 'begin the 2028-07-03 night: Time Travel bookmark, then 3 table loads'],
      ['awaitNightExport', 'wait for the first of the 3 export files of 2028-07-03 in the inbox'],
      ['loadTable', 'load customers 2028-07-03 from CLIENTS_20280703.csv'],
      ['loadTable', 'load products 2028-07-03 from ARTICLES_20280703.csv'],
      ['loadTable', 'load orders 2028-07-03 from COMMANDES_20280703.csv'],
    ]);
    const customerSteps = await summaries(`${nightlyWorkflowId(night)}-customers-${night}`);
    expect(customerSteps).toEqual([
      // The file was there: taken by the first look, a local activity, as were its four steps (a file of a few KiB).
      ['fetchReadyExport (local)', 'fetch CLIENTS_20280703.csv if it is there and complete'],
      ['validateExport (local)', 'validate CLIENTS_20280703.csv against the customers contract'],
      ['stageExport (local)', expect.stringMatching(/^stage \d+ valid rows of CLIENTS_20280703\.csv into _stage_customers$/)],
      ['publishLoad (local)', 'publish customers 2028-07-03: SCD2 merge into the history'],
      ['verifyLoad (local)', 'verify customers 2028-07-03: counts, versions and control totals'],
    ]);
    const productSteps = await summaries(`${nightlyWorkflowId(night)}-products-${night}`);
    expect(productSteps.map(([type]) => type)).toEqual(['fetchReadyExport (local)', 'validateExport (local)', 'recordLoadFailure', 'quarantineExport', 'incident']);
    expect(productSteps.at(-1)).toEqual(['incident', 'incident: products 2028-07-03 set aside (CsvHeaderMismatch); waits for a signed approval']);
    expect(productSteps.every(([, summary]) => typeof summary === 'string' && summary.length > 0)).toBe(true);
  }, 90_000);

  it('the night answers its progress query, per table the stage reached, rows and what it waits for; `warehouse run --progress` prints it', async () => {
    const truth = await readTruth(warehouse.inbox, night);
    const progress = await eventually(
      () => nightly.query(progressQuery),
      (p) => p.tables.filter((t) => ['loaded', 'failed'].includes(t.stage)).length === 2,
      60_000,
    );
    const childOf = (table: string) => `${nightlyWorkflowId(night)}-${table}-${night}`;
    const ended = [
      { table: 'customers', stage: 'loaded', rows: truth.tables.customers!.fileRows, workflowId: childOf('customers') },
      { table: 'products', stage: 'failed', detail: expect.stringMatching(/^CsvHeaderMismatch: products 2028-07-03 \[ARTICLES_20280703\.csv, line 1\]: header does not match/), workflowId: childOf('products') },
    ];
    // The night knows which child loads orders; the child itself says its step (no signal between them).
    expect(progress).toEqual({ businessDate: night, phase: 'loading', tables: [...ended, { table: 'orders', stage: 'loading', workflowId: childOf('orders') }] });
    expect(await warehouse.client.workflow.getHandle(childOf('orders')).query(loadStepQuery)).toEqual({
      table: 'orders',
      stage: 'fetch',
      waitingFor: 'COMMANDES_20280703.csv in the inbox (until 2028-07-04 06:00 Europe/Paris)',
    });
    // A child that ended still answers the last step it reached, with the rows it validated.
    expect(await warehouse.client.workflow.getHandle(childOf('customers')).query(loadStepQuery)).toEqual({ table: 'customers', stage: 'verify', rows: truth.tables.customers!.fileRows });
    const nightHistory = (await nightly.fetchHistory()).events ?? [];
    expect(nightHistory.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === tableStageSignal.name)).toEqual([]);

    const cli = await runWarehouse(['run', '--date', night, '--progress'], warehouse.env);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain('night 2028-07-03: loading');
    expect(cli.stdout).toMatch(new RegExp(`^customers +loaded +${truth.tables.customers!.fileRows}$`, 'm'));
    expect(cli.stdout).toMatch(/^orders +fetch +COMMANDES_20280703\.csv in the inbox \(until 2028-07-04 06:00 Europe\/Paris\)$/m);
    const json = await runWarehouse(['run', '--date', night, '--progress', '--json'], warehouse.env);
    expect(JSON.parse(json.stdout)).toEqual({
      businessDate: night,
      phase: 'loading',
      tables: [...ended, { table: 'orders', stage: 'fetch', waitingFor: 'COMMANDES_20280703.csv in the inbox (until 2028-07-04 06:00 Europe/Paris)', workflowId: childOf('orders') }],
    });

    const none = await runWarehouse(['run', '--date', '2028-07-27', '--progress'], warehouse.env);
    expect(none.code).toBe(1);
    expect(none.stderr.trim()).toBe('warehouse: no nightly run for 2028-07-27 (nightly-2028-07-27); start it with: warehouse run --date 2028-07-27');

    if (process.env.RECORD_HISTORIES) {
      // For the replay tests: the night and the table waiting for its file as they stand (still running), the loaded and the quarantined table to their end.
      const ids = [nightlyWorkflowId(night), `${nightlyWorkflowId(night)}-customers-${night}`, `${nightlyWorkflowId(night)}-products-${night}`, ordersChild];
      expect(await saveHistories(inject('temporal'), ids, process.env.RECORD_HISTORIES, 'web-ui')).toHaveLength(4);
    }
  }, 120_000);

  it('ignores a tableStage signal that is malformed, names an unknown or ended table, moves a table back or ends it', async () => {
    const before = await nightly.query(progressQuery);
    expect(before.tables.map((t) => t.stage)).toEqual(['loaded', 'failed', 'loading']);
    const hostile: unknown[] = [
      null,
      'verify',
      [],
      { table: 'orders', stage: 'loaded' },
      { table: 'orders', stage: 'fetch' },
      { table: 'orders', stage: 'validate' },
      { table: 'orders', stage: 'validate', rows: -3 },
      { table: 'orders', stage: 'validate', rows: 'many' },
      { table: 'orders', stage: 'validate', rows: 1.5 },
      { table: 'invoices', stage: 'validate' },
      { table: 'customers', stage: 'verify', rows: 1 },
      { table: 'products', stage: 'publish' },
    ];
    for (const report of hostile) await nightly.signal(tableStageSignal, report as TableStageReport);
    // Every signal is handled once a workflow task completes after the last one arrived.
    await eventually(
      async () => (await nightly.fetchHistory()).events ?? [],
      (events) => {
        const lastSignal = events.findLastIndex((e) => e.workflowExecutionSignaledEventAttributes);
        return lastSignal >= 0 && events.slice(lastSignal).some((e) => e.workflowTaskCompletedEventAttributes);
      },
      30_000,
    );
    expect(await nightly.query(progressQuery)).toEqual(before);
  }, 60_000);
});
