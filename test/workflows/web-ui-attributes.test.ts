import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName } from '../../contracts/types.ts';
import { generateExports } from '../../generator/index.ts';
import { incidentWorkflowId, nightlyRun, nightlyWorkflowId } from '../../workflows/index.ts';
import { eventually } from '../support/eventually.ts';
import { startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

/** A night of three tables: customers loads, products' file has a wrong header (quarantined), orders' file is late. */
const night = '2028-07-03';
const tables = ['customers', 'products', 'orders'];

describe("the Web UI's list view filters a night's workflows by BusinessDate, EtlTable and EtlStatus", () => {
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
    const running = await eventually(() => listed(query), (ids) => ids.length === 3, 90_000);
    // The incident outlives the night (it waits for an approval); customers is loaded, products quarantined.
    expect(running).toEqual([incidentWorkflowId('products', night), nightlyWorkflowId(night), `${nightlyWorkflowId(night)}-orders-${night}`].sort());
    expect(await listed(`BusinessDate = '${night}' AND ExecutionStatus = 'Running' AND EtlStatus = 'running'`)).toEqual([nightlyWorkflowId(night), `${nightlyWorkflowId(night)}-orders-${night}`].sort());
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
});
