import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTemporalDevServer, type TemporalDevServer } from '../../client/dev/temporal-server.ts';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName } from '../../contracts/types.ts';
import { generateExports } from '../../generator/index.ts';
import { nightlyRun, nightlyWorkflowId } from '../../workflows/index.ts';
import { freePort } from '../support/free-port.ts';
import { startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

/** Debian's Chromium (scripts/install-chromium.sh installs it; CI runs that script). */
const chromiumPath = '/usr/bin/chromium';
/** A night whose orders file is late: customers loads, orders' fetch waits until 06:00 Paris time the next morning. */
const night = '2028-07-10';
const ordersChild = `${nightlyWorkflowId(night)}-orders-${night}`;

/**
 * The Web UI as an operator sees it: a Temporal dev server of its own with its Web UI (the
 * run's shared server is headless), a worker, a night waiting for a late file, and headless
 * Chromium reading the waiting load's page.
 */
describe('the Web UI of a night waiting for a late file says what it waits for', () => {
  let temporal: TemporalDevServer;
  let warehouse: IsolatedWarehouse;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let nightly: WorkflowHandle<typeof nightlyRun>;
  let browser: Browser;
  let shots: string;

  beforeAll(async () => {
    // Not a skip: a machine without Chromium cannot show that the Web UI explains.
    if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: run scripts/install-chromium.sh (as root: apt-get install chromium)`);
    shots = await mkdtemp(join(tmpdir(), 'sodimo-webui-'));
    const [port, uiPort] = [await freePort(), await freePort()];
    temporal = await startTemporalDevServer({ port, uiPort, logFile: join(shots, 'temporal.log'), startTimeoutMs: 120_000 });
    warehouse = await startIsolatedWarehouse({ TEMPORAL_ADDRESS: temporal.address, EXPORT_POLL_MS: '200' });
    await generateExports({ outDir: warehouse.inbox, from: night, days: 1, scale: 1, seed: 3 });
    await rm(join(warehouse.inbox, exportFileName(contractFor('orders'), night)));
    worker = await startWorker(warehouse.config);
    nightly = await warehouse.client.workflow.start(nightlyRun, {
      workflowId: nightlyWorkflowId(night),
      taskQueue: warehouse.config.temporal.taskQueue,
      args: [{ businessDate: night, tables: ['customers', 'orders'], recheckDays: 0 }],
    });
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await nightly?.terminate('test over').catch(() => undefined);
    await worker?.stop();
    await warehouse?.close();
    await temporal?.stop();
    if (shots) await rm(shots, { recursive: true, force: true });
  });

  /** Waits until `text` is on the page, reloading it meanwhile (a tab is not refreshed by itself); fails with what the page did show. */
  async function pageShows(page: Page, text: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await page.getByText(text, { exact: false }).first().waitFor({ state: 'visible', timeout: 5_000 });
        return;
      } catch {
        if (Date.now() > deadline) break;
        await page.reload();
      }
    }
    const shown = await page.locator('body').innerText().catch(() => '(no page)');
    if (process.env.WEB_UI_SCREENSHOTS) await page.screenshot({ path: join(process.env.WEB_UI_SCREENSHOTS, 'failed.png'), fullPage: true });
    throw new Error(`the Web UI page ${page.url()} never showed "${text}"; it showed:\n${shown.slice(-3000)}`);
  }

  it("the waiting load's page shows its summary and the fetch's summary: which file, until when", async () => {
    // The fetch is pending once the night's first file is there and the child has started.
    const child = warehouse.client.workflow.getHandle(ordersChild);
    for (let tries = 0; tries < 120 && !((await child.describe().catch(() => undefined))?.raw.pendingActivities ?? []).length; tries++) await new Promise((r) => setTimeout(r, 500));

    const page = await browser.newPage({ viewport: { width: 1600, height: 1200 } });
    await page.goto(`${temporal.uiUrl}/namespaces/${temporal.namespace}/workflows/${ordersChild}`);
    await pageShows(page, 'fetch COMMANDES_20280710.csv — waiting until 2028-07-11 06:00 Europe/Paris at the latest');
    await pageShows(page, 'load orders 2028-07-10 from COMMANDES_20280710.csv');
    // Its last heartbeat, under Pending Activities: what the fetch has seen so far.
    await page.getByText('Pending Activities').first().click();
    await pageShows(page, `waiting for COMMANDES_20280710.csv in ${warehouse.inbox} until 2028-07-11 06:00 Europe/Paris: not there yet`);
    // WEB_UI_SCREENSHOTS=DIR keeps the picture to look at.
    const shot = join(process.env.WEB_UI_SCREENSHOTS ?? shots, 'orders-waiting.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect((await stat(shot)).size).toBeGreaterThan(10_000);
  }, 180_000);
});
