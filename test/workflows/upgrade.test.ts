import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TableChecksum } from '../../client/checksum.ts';
import { scanExport } from '../../activities/export-reader.ts';
import { formatDecimal } from '../../common/decimal.ts';
import { contractFor, tableContracts } from '../../contracts/index.ts';
import { exportFileName, sodiwinDialect } from '../../contracts/types.ts';
import { generateExports } from '../../generator/index.ts';
import { readTruth } from '../../generator/truth.ts';
import { unitsColumn } from '../../history/stored-columns.ts';
import { runWarehouse, type CliRun } from '../support/cli.ts';
import { currentState } from '../support/truth.ts';
import { runNight, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

/**
 * Upgrade in place (issue 14): a warehouse built by the release at the start of the issue
 * (commit f7843ac, its own worker bundling its own workflows) for three nights, one with a
 * quarantined file repaired on a signed approval, and the last with an incident still open,
 * then this code's `warehouse migrate` and worker. What a user relies on: the checksums and
 * the reports answer as they did before the upgrade, the migrations are recorded, the amounts
 * the release stored as REAL are exact units equal to the files' (migration 0006), the incident
 * the release opened is approved and repaired by this code (its workflow, started under the
 * release, carries on on the new worker), and the next night loads.
 *
 * The release tree is `UPGRADE_RELEASE_DIR` when set (e.g. /tmp/release-f7843ac, prepared
 * with `git archive f7843ac | tar -x -C …` and this checkout's node_modules linked in), else
 * built here the same way from this git checkout.
 */

const release = 'f7843ac';
const repo = fileURLToPath(new URL('../..', import.meta.url));
// Dates no other test file uses: nightly ids are shared by every test on the one Temporal server.
const days = ['2027-05-03', '2027-05-04', '2027-05-05', '2027-05-06'];
const [oldNights, nextNight] = [days.slice(0, 3), days[3]!];

/** The release's source tree, with this checkout's node_modules (the release's dependencies are a subset of them). */
async function releaseTree(dir: string): Promise<string> {
  if (process.env.UPGRADE_RELEASE_DIR) return process.env.UPGRADE_RELEASE_DIR;
  const tree = join(dir, `release-${release}`);
  await mkdir(tree, { recursive: true });
  execFileSync('sh', ['-c', `git -C "$REPO" archive ${release} | tar -x -C "$TREE"`], { env: { ...process.env, REPO: repo, TREE: tree }, stdio: ['ignore', 'ignore', 'inherit'] });
  await symlink(join(repo, 'node_modules'), join(tree, 'node_modules'));
  return tree;
}

/**
 * The release's `warehouse worker`: no WORKFLOW_BUNDLE_PATH, so it bundles the release's own workflows at start.
 * Its output goes to release-worker.log in the warehouse's directory.
 */
function spawnReleaseWorker(tree: string, warehouse: IsolatedWarehouse): ChildProcess {
  const env = { ...process.env, ...warehouse.env };
  delete env.WORKFLOW_BUNDLE_PATH;
  const log = openSync(join(warehouse.dir, 'release-worker.log'), 'a');
  const child = spawn(process.execPath, [join(tree, 'client', 'cli.ts'), 'worker'], { env, stdio: ['ignore', log, log] });
  closeSync(log); // the child holds its own descriptor
  return child;
}

/** `fn` over `items`, `size` at a time (CLI processes: a few seconds each, mostly start-up), results in order. */
async function inBatches<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) results.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return results;
}

/** Ends a worker process with SIGTERM (a deploy's stop: it drains, then exits) and waits for it. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** A CLI run that must succeed; its stdout. */
function ok(run: CliRun, what: string): string {
  expect(run.code, `${what}\n${run.stdout}\n${run.stderr}`).toBe(0);
  return run.stdout;
}

/**
 * Migration 0006 converted the release's REAL amounts: no REAL column is left in a history or stage
 * table; every amount of each table's last loaded night's full snapshot, as units in `<t>_current`, is the file's
 * value read exactly; the SUM a reader runs over `<name>_units` of `<t>_current` equals the file's
 * control total to the cent, and every table's current state is the generator's truth.
 */
async function expectMoneyInUnits(warehouse: IsolatedWarehouse, nightOf: (table: string) => string, migrate: string): Promise<void> {
  expect(migrate).toContain('applied migration 0006_money_units');
  for (const contract of tableContracts) {
    const lastNight = nightOf(contract.table);
    const truth = await readTruth(warehouse.inbox, lastNight);
    const decimals = contract.columns.filter((c) => c.type.kind === 'decimal');
    for (const table of [contract.table, `_stage_${contract.table}`]) {
      const [info] = await warehouse.d1.query<{ name: string; type: string }>(`PRAGMA table_info("${table}")`);
      const columns = info?.results ?? [];
      expect(columns.filter((c) => c.type === 'REAL'), table).toEqual([]);
      for (const c of decimals) expect(columns.find((x) => x.name === unitsColumn(c.name))?.type, `${table}.${c.name}`).toBe('INTEGER');
    }
    expect(await currentState(warehouse.d1, contract), `${contract.table}_current after migrate`).toEqual(truth.tables[contract.table]!.current);
    if (contract.mode !== 'full' || decimals.length === 0) continue;
    for (const name of contract.controlTotals) {
      const [sum] = await warehouse.d1.query<{ units: string }>(`SELECT CAST(SUM("${unitsColumn(name)}") AS TEXT) AS units FROM "${contract.table}_current"`);
      const scale = (contract.columns.find((c) => c.name === name)!.type as { scale: number }).scale;
      expect(formatDecimal(BigInt(sum?.results[0]?.units ?? '0'), scale), `SUM(${name}_units) of ${contract.table}_current`).toBe(truth.tables[contract.table]!.fileTotals[name]);
    }
    const inFile = new Map<string, unknown[]>();
    await scanExport({ path: join(warehouse.inbox, exportFileName(contract, lastNight)), contract, dialect: sodiwinDialect, businessDate: lastNight,
      onRow: (row) => void inFile.set(contract.key.map((k) => row[k]).join('|'), decimals.map((c) => row[c.name])) });
    const [stored] = await warehouse.d1.query<Record<string, unknown>>(`SELECT ${[...contract.key, ...decimals.map((c) => unitsColumn(c.name))].map((n) => `"${n}"`).join(', ')} FROM "${contract.table}_current"`);
    const inD1 = new Map((stored?.results ?? []).map((r) => [contract.key.map((k) => r[k]).join('|'), decimals.map((c) => r[unitsColumn(c.name)])]));
    expect(inD1.size, contract.table).toBe(inFile.size);
    expect(inD1, `${contract.table}: the units in D1 are the file's amounts`).toEqual(inFile);
  }
}

describe(`a warehouse built by release ${release} upgrades in place`, () => {
  let warehouse: IsolatedWarehouse;
  let tree: string;
  let oldWorker: ChildProcess | undefined;
  let newWorker: Awaited<ReturnType<typeof startWorker>> | undefined;
  const releaseCli = (args: string[]) => runWarehouse(args, warehouse.env, 300_000, join(tree, 'client', 'cli.ts'));
  const cli = (args: string[]) => runWarehouse(args, warehouse.env);

  beforeAll(async () => {
    warehouse = await startIsolatedWarehouse();
    tree = await releaseTree(warehouse.dir);
    expect(existsSync(join(tree, 'client', 'cli.ts'))).toBe(true);
    await generateExports({ outDir: warehouse.inbox, from: days[0]!, days: days.length, scale: 0.3, seed: 23 });
  }, 120_000);
  afterAll(async () => {
    if (oldWorker) await stopProcess(oldWorker);
    await newWorker?.stop();
    await warehouse?.close();
  });

  it('keeps every checksum and report answer through migrate, records the migrations, and loads the next night', async () => {
    oldWorker = spawnReleaseWorker(tree, warehouse);
    const night = async (day: string) => {
      const run = await releaseCli(['run', '--date', day, '--wait', '--json']);
      expect([0, 2], `release night ${day}\n${run.stdout}\n${run.stderr}`).toContain(run.code); // 2: a partial night
      return JSON.parse(run.stdout) as { status: string; tables: { table: string; status: string; errorType?: string }[] };
    };
    expect((await night(oldNights[0]!)).status).toBe('ok');
    // The second night's orders file loses a column from its header: quarantined, an incident opens; the corrected file
    // arrives and Paul approves the rewind, all under the release.
    const orders = join(warehouse.inbox, exportFileName(contractFor('orders'), oldNights[1]!));
    const text = iconv.decode(await readFile(orders), 'win1252');
    await writeFile(orders, iconv.encode(text.replace('CODE_DEPOT;', ''), 'win1252'));
    const partial = await night(oldNights[1]!);
    expect(partial.status).toBe('partial');
    expect(partial.tables.find((t) => t.table === 'orders')).toMatchObject({ status: 'failed', errorType: 'CsvHeaderMismatch' });
    await writeFile(orders, iconv.encode(text, 'win1252'));
    expect(ok(await releaseCli(['approve', `incident-orders-${oldNights[1]}`, '--wait']), 'release approve')).toContain(`resolved: replayed ${oldNights[1]}`);
    // The third night's customers file loses a column from its header too, and its incident is left open across the upgrade.
    const customers = join(warehouse.inbox, exportFileName(contractFor('customers'), oldNights[2]!));
    const customersText = iconv.decode(await readFile(customers), 'win1252');
    const [header, ...lines] = customersText.split('\r\n');
    await writeFile(customers, iconv.encode([header!.split(';').filter((_, i) => i !== 1).join(';'), ...lines].join('\r\n'), 'win1252'));
    const third = await night(oldNights[2]!);
    expect(third.status).toBe('partial');
    expect(third.tables.filter((t) => t.status !== 'loaded').map(({ table, status, errorType }) => ({ table, status, errorType }))).toEqual([{ table: 'customers', status: 'failed', errorType: 'CsvHeaderMismatch' }]);
    const openIncident = `incident-customers-${oldNights[2]}`;
    await stopProcess(oldWorker);

    const names = async () => (await warehouse.d1.query<{ name: string }>('SELECT name FROM d1_migrations ORDER BY id'))[0]?.results.map((r) => r.name);
    expect(await names()).toEqual(['0001_control_schema', '0002_signed_approvals']);
    const checksumsBefore = JSON.parse(ok(await releaseCli(['checksum', '--json']), 'release checksum')) as TableChecksum[];
    expect(checksumsBefore.map((c) => c.table)).toEqual(tableContracts.map((c) => c.table));
    expect(checksumsBefore.every((c) => c.versions > 0)).toBe(true);
    const reports = (JSON.parse(ok(await releaseCli(['report', '--list', '--json']), 'release report list')) as { name: string }[]).map((r) => r.name);
    // Every report now, and two from history as of the quarantined night (one CLI process each: a few seconds apiece).
    const questions = [...reports.map((name) => [name]), ['stock-levels', '--as-of', oldNights[1]!], ['outstanding-invoices', '--as-of', oldNights[1]!]];
    const answersBefore = new Map<string, string>();
    const runs = await inBatches(questions, 4, (question) => releaseCli(['report', ...question, '--json']));
    for (const [i, run] of runs.entries()) if (run.code === 0) answersBefore.set(questions[i]!.join(' '), run.stdout); // customer-orders needs a --customer: not asked
    expect([...answersBefore.keys()].filter((q) => !q.startsWith('customer-orders'))).toHaveLength(questions.length - 1);

    const migrate = ok(await cli(['migrate']), 'migrate');
    expect(migrate).toContain('applied migration 0003_contract_record');
    expect(migrate).toContain('applied migration 0004_night_incidents');
    expect((await names())?.slice(0, 4)).toEqual(['0001_control_schema', '0002_signed_approvals', '0003_contract_record', '0004_night_incidents']);
    expect(JSON.parse(ok(await cli(['checksum', '--json']), 'checksum after migrate'))).toEqual(checksumsBefore);
    await expectMoneyInUnits(warehouse, (table) => (table === 'customers' ? oldNights[1]! : oldNights[2]!), migrate);
    const [incidentRows] = await warehouse.d1.query<{ incident_id: string; status: string }>('SELECT incident_id, status FROM etl_incidents ORDER BY incident_id');
    expect(incidentRows?.results).toEqual([{ incident_id: openIncident, status: 'open' }, { incident_id: `incident-orders-${oldNights[1]}`, status: 'resolved' }]);
    const answersAfter = await inBatches([...answersBefore.keys()], 4, async (question) => ok(await cli(['report', ...question.split(' '), '--json']), `report ${question}`));
    expect(new Map([...answersBefore.keys()].map((question, i) => [question, answersAfter[i]]))).toEqual(answersBefore);

    newWorker = await startWorker(warehouse.config);
    // The corrected customers file arrives; the incident the release opened is approved with this code's CLI and repaired by its worker.
    await writeFile(customers, iconv.encode(customersText, 'win1252'));
    expect(ok(await cli(['approve', openIncident, '--wait']), 'approve after the upgrade')).toContain(`resolved: replayed ${oldNights[2]}`);
    const [resolvedRow] = await warehouse.d1.query<{ status: string; approved_by: string | null }>('SELECT status, approved_by FROM etl_incidents WHERE incident_id = ?', [openIncident]);
    expect(resolvedRow?.results).toEqual([{ status: 'resolved', approved_by: 'paul' }]);
    const summary = await runNight(warehouse, nextNight);
    expect(summary.tables.filter((t) => t.status !== 'loaded')).toEqual([]);
    expect(summary.status).toBe('ok');
    const truth = await readTruth(warehouse.inbox, nextNight);
    for (const contract of tableContracts) {
      expect(await currentState(warehouse.d1, contract), `${contract.table}_current after ${nextNight}`).toEqual(truth.tables[contract.table]!.current);
    }
  }, 720_000); // 3 minutes on a busy 2-core machine, twice that when it is loaded: the release bundles its workflows, ~30 CLI processes, two repairs
});
