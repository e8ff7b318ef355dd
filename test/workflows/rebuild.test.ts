import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateExports } from '../../generator/index.ts';
import { rebuildAndCompare, type RebuildReport } from '../../client/rebuild.ts';
import { testConfig } from '../support/environment.ts';
import { runWarehouse } from '../support/cli.ts';
import { runNight, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';
import { recordHistoriesOf } from '../support/histories.ts';

const days = ['2026-10-05', '2026-10-06', '2026-10-07'];

describe('warehouse rebuild: the archive replayed into a scratch warehouse, compared table by table', () => {
  let warehouse: IsolatedWarehouse;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let env: Record<string, string>;

  beforeAll(async () => {
    warehouse = await startIsolatedWarehouse();
    await generateExports({ outDir: warehouse.inbox, from: days[0]!, days: days.length, scale: 0.3, seed: 23 });
    worker = await startWorker(warehouse.config);
    for (const day of days) expect((await runNight(warehouse, day)).status).toBe('ok');
    env = { ...warehouse.env, WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath') };
  });
  afterAll(async () => {
    await worker?.stop();
    await warehouse?.close();
  });

  it('finds every table equal to its rebuild, then names the one that was altered behind the warehouse’s back', async () => {
    const clean = await runWarehouse(['rebuild', '--json'], env);
    expect(clean.code, clean.stderr).toBe(0);
    const report = JSON.parse(clean.stdout) as RebuildReport;
    expect(report.loads).toBe(39);
    expect(report.result).toEqual({ replayed: 39, failures: [], runs: 1 });
    expect(report.tables).toHaveLength(13);
    expect(report.tables.filter((t) => !t.same)).toEqual([]);
    expect(report.tables.find((t) => t.table === 'orders')!.rebuilt.versions).toBeGreaterThan(0);

    // The same, one date per run of the workflow: it continues as new twice and ends the same.
    const chained = await rebuildAndCompare({ config: testConfig(env), client: warehouse.client, table: 'orders', datesPerRun: 1 });
    expect(chained.result).toEqual({ replayed: 3, failures: [], runs: 3 });
    expect(chained.tables.map((t) => [t.table, t.same])).toEqual([['orders', true]]);
    await recordHistoriesOf(warehouse, 'rebuild', { status: 'Completed', anyTaskQueue: true, limit: 2 });

    // Someone edits a customer's name directly in D1.
    await warehouse.d1.query("UPDATE customers SET name = 'Edited by hand' WHERE _version_id = (SELECT min(_version_id) FROM customers)");
    const altered = await runWarehouse(['rebuild', '--table', 'customers'], env);
    expect(altered.code, altered.stderr).toBe(2);
    // The scratch worker's log lines are in the log file, not on the terminal.
    const logFile = join(warehouse.config.paths.logDir, 'rebuild.log');
    expect(altered.stdout).toContain(`the scratch worker's log: ${logFile}`);
    expect(altered.stdout + altered.stderr).not.toMatch(/\b(INFO|WARN|DEBUG)\b|Worker state changed/);
    expect(await readFile(logFile, 'utf8')).toMatch(/INFO .*Worker/);
    expect(altered.stdout.split('\n').length).toBeLessThan(12);
    expect(altered.stdout).toMatch(/customers .* DIFFERENT \(live [0-9a-f]{12}, rebuilt [0-9a-f]{12}\)/);
    expect(altered.stdout).toContain('1 table(s) differ from a rebuild of the archive: customers');

    // --keep: the scratch warehouse stays, as a SQLite file any SQLite tool opens.
    const kept = await runWarehouse(['rebuild', '--table', 'orders', '--keep', '--json'], env);
    expect(kept.code, kept.stderr).toBe(0);
    const keptReport = JSON.parse(kept.stdout) as RebuildReport;
    expect(keptReport.scratchDatabase).toMatch(/\.sqlite$/);
    const database = new DatabaseSync(keptReport.scratchDatabase!, { readOnly: true });
    try {
      const { n } = database.prepare('SELECT count(*) AS n FROM orders').get() as { n: number };
      expect(n).toBe(keptReport.tables[0]!.rebuilt.versions);
    } finally {
      database.close();
    }
    await rm(keptReport.scratchDir!, { recursive: true, force: true });

    const unknown = await runWarehouse(['rebuild', '--table', 'clients'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown table "clients"');
  }, 300_000);
});
