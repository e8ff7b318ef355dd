import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Activities } from '../../activities/index.ts';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName } from '../../contracts/types.ts';
import { generateExports } from '../../generator/index.ts';
import { incidentStateQuery, incidentWorkflowId } from '../../workflows/index.ts';
import { runWarehouse } from '../support/cli.ts';
import { eventually } from '../support/eventually.ts';
import { freePort } from '../support/free-port.ts';
import { startSmtpServer } from '../support/mail.ts';
import { runNight, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

const [day1, day2, day3] = ['2026-11-02', '2026-11-03', '2026-11-04'];

describe('the alarm rings even when the quarantine cannot be written', () => {
  let warehouse: IsolatedWarehouse;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;

  beforeAll(async () => {
    const port = await freePort();
    smtp = await startSmtpServer(port);
    warehouse = await startIsolatedWarehouse({ SMTP_URL: `smtp://127.0.0.1:${port}` });
    await generateExports({ outDir: warehouse.inbox, from: day1, days: 3, scale: 0.3, seed: 17 });
    // The NAS refuses the quarantine of day 2's orders, as a read-only or full NAS would.
    worker = await startWorker(warehouse.config, (activities: Activities) => ({
      ...activities,
      async quarantineExport(input) {
        if (input.table === 'orders' && input.businessDate === day2) throw ApplicationFailure.nonRetryable(`EROFS: read-only file system, mkdir '${join(warehouse.dir, 'nas', 'quarantine', day2, 'orders')}'`, 'QuarantineUnwritable');
        return activities.quarantineExport(input);
      },
    }));
  });
  afterAll(async () => {
    await worker?.stop();
    await smtp?.close();
    await warehouse?.close();
  });

  it('opens the incident, sends the alert, fails status --check and holds the table back', async () => {
    expect((await runNight(warehouse, day1)).status).toBe('ok');
    const file = join(warehouse.inbox, exportFileName(contractFor('orders'), day2));
    const text = iconv.decode(await readFile(file), 'win1252');
    await writeFile(file, iconv.encode(text.replace('CODE_DEPOT;', ''), 'win1252'));
    const night = await runNight(warehouse, day2);
    expect(night.tables.find((t) => t.table === 'orders')).toMatchObject({ status: 'failed', errorType: 'CsvHeaderMismatch' });

    const incidentId = incidentWorkflowId('orders', day2);
    const state = await eventually(() => warehouse.client.workflow.getHandle(incidentId).query(incidentStateQuery), (s) => s.alert === 'smtp');
    expect(state).toMatchObject({ status: 'open', alert: 'smtp', quarantineDir: '(not written)' });
    expect(state.message).toContain('[and: the file could not be quarantined: EROFS: read-only file system');
    const [incidents] = await warehouse.d1.query('SELECT incident_id, status, error_type FROM etl_incidents');
    expect(incidents?.results).toEqual([{ incident_id: incidentId, status: 'open', error_type: 'CsvHeaderMismatch' }]);
    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0]!.headers.subject).toContain(`orders ${day2}: CsvHeaderMismatch`);
    expect(smtp.received[0]!.text).toContain('the file could not be quarantined');

    const check = await runWarehouse(['status', '--check'], warehouse.env);
    expect(check.code, check.stdout + check.stderr).toBe(2);
    const next = await runNight(warehouse, day3);
    expect(next.tables.find((t) => t.table === 'orders')).toMatchObject({ status: 'deferred', heldBy: incidentId });
  }, 180_000);
});
