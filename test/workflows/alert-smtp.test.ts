import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName } from '../../contracts/types.ts';
import { generateExports } from '../../generator/index.ts';
import { incidentStateQuery, incidentWorkflowId } from '../../workflows/index.ts';
import { runWarehouse } from '../support/cli.ts';
import { freePort } from '../support/free-port.ts';
import { startSmtpServer, type ReceivedMail } from '../support/mail.ts';
import { runNight, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';
import { eventually } from '../support/eventually.ts';

const [day1, day2] = ['2026-07-06', '2026-07-07'];

describe('the alert to Paul over SMTP', () => {
  let warehouse: IsolatedWarehouse;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let smtpPort: number;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>> | undefined;

  beforeAll(async () => {
    smtpPort = await freePort();
    warehouse = await startIsolatedWarehouse({ SMTP_URL: `smtp://127.0.0.1:${smtpPort}`, ALERT_TO: 'paul@sodimo.example' });
    await generateExports({ outDir: warehouse.inbox, from: day1, days: 2, scale: 1, seed: 9 });
    worker = await startWorker(warehouse.config);
  });
  afterAll(async () => {
    await worker?.stop();
    await smtp?.close();
    await warehouse?.close();
  });

  it('records the incident while the SMTP server is down, repairs it on approval meanwhile, and delivers one alert once it is back', async () => {
    expect((await runNight(warehouse, day1)).status).toBe('ok');
    // Day 2's orders file loses a column from its header.
    const file = join(warehouse.inbox, exportFileName(contractFor('orders'), day2));
    const text = iconv.decode(await readFile(file), 'win1252');
    await writeFile(file, iconv.encode(text.replace('CODE_DEPOT;', ''), 'win1252'));

    const summary = await runNight(warehouse, day2);
    expect(summary.tables.find((t) => t.table === 'orders')).toMatchObject({ status: 'failed', errorType: 'CsvHeaderMismatch' });

    const [opened] = await warehouse.d1.query<{ incident_id: string; alert_via: string | null }>('SELECT incident_id, alert_via FROM etl_incidents');
    expect(opened?.results).toEqual([{ incident_id: `incident-orders-${day2}`, alert_via: null }]);
    const handle = warehouse.client.workflow.getHandle(incidentWorkflowId('orders', day2));
    expect((await handle.query(incidentStateQuery)).alert).toBe('pending');

    // The corrected file arrives and Paul approves while SMTP is still down: the repair does not wait for the alert.
    await writeFile(file, iconv.encode(text, 'win1252'));
    const approve = await runWarehouse(['approve', `incident-orders-${day2}`, '--wait'], warehouse.env);
    expect(approve.code, approve.stderr).toBe(0);
    expect(approve.stdout).toContain(`resolved: replayed ${day2}`);
    expect(await handle.query(incidentStateQuery)).toMatchObject({ status: 'resolved', alert: 'pending' });
    const [watermark] = await warehouse.d1.query<{ business_date: string }>('SELECT business_date FROM etl_watermarks WHERE table_name = ?', ['orders']);
    expect(watermark?.results[0]?.business_date).toBe(day2);

    smtp = await startSmtpServer(smtpPort);
    const received = await eventually<ReceivedMail[]>(() => smtp!.received, (r) => r.length > 0);
    expect(received).toHaveLength(1);
    const [mail] = received;
    expect(mail!.to).toEqual(['paul@sodimo.example']);
    expect(mail!.headers.subject).toBe(`[warehouse] orders ${day2}: CsvHeaderMismatch — The file's header row does not match the agreed list of columns`);
    expect(mail!.headers['message-id']).toBe(`<incident-orders-${day2}@sodimo-warehouse>`);
    expect(mail!.text).toContain(`The nightly load of table orders for business date ${day2} was stopped and the file set aside.`);
    expect(mail!.text).toContain(`The warehouse still shows this table as of ${day1}`);
    expect(mail!.text).toContain('missing CODE_DEPOT');
    expect(mail!.text).toContain(join(warehouse.dir, 'nas', 'quarantine', day2, 'orders'));
    expect(mail!.text).toContain(`/namespaces/default/workflows/incident-orders-${day2}`);
    expect(mail!.text).toContain(`warehouse approve incident-orders-${day2} --mode rewind`);

    const state = await eventually(() => handle.query(incidentStateQuery), (s) => s.alert === 'smtp');
    expect(state.alert).toBe('smtp');
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(smtp.received).toHaveLength(1);
    const [incidents] = await warehouse.d1.query<{ n: number; via: string }>('SELECT count(*) AS n, max(alert_via) AS via FROM etl_incidents');
    expect(incidents?.results).toEqual([{ n: 1, via: 'smtp' }]);
  }, 180_000);
});
