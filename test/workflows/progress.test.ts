import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName } from '../../contracts/types.ts';
import { generateExports } from '../../generator/index.ts';
import { runWarehouse, runWarehouseOnTerminal } from '../support/cli.ts';
import { faults } from '../support/worker-process.ts';
import { runNight, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

const days = ['2028-06-12', '2028-06-13', '2028-06-14', '2028-06-15'];
/** A progress line as client/progress.ts draws it: back to the line's start, the text, the rest of the line erased. */
const drawn = (prefix: string) => new RegExp(`\\r${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[^\\r\\n]*\\x1b\\[K`);
const controlCharacters = /\r|\x1b\[/;

/**
 * The long commands on a terminal (a pseudo-terminal from `script`) draw a progress line on
 * stderr and clear it before their answer; with --json, or when the output is not a terminal,
 * nothing but the answer is written.
 */
describe('long commands show their progress on a terminal, and only there', () => {
  let warehouse: IsolatedWarehouse;
  let worker: Awaited<ReturnType<typeof startWorker>>;

  beforeAll(async () => {
    warehouse = await startIsolatedWarehouse();
    await generateExports({ outDir: warehouse.inbox, from: days[0]!, days: days.length, scale: 0.2, seed: 23 });
    worker = await startWorker(warehouse.config);
    for (const day of days) expect((await runNight(warehouse, day)).status).toBe('ok');
  });
  afterAll(async () => {
    await worker?.stop();
    await warehouse?.close();
  });

  it('migrate names its steps; rebuild counts the loads it replayed; neither on a pipe', async () => {
    const migrate = await runWarehouseOnTerminal(['migrate'], warehouse.env);
    expect(migrate.code, migrate.output).toBe(0);
    // Up to date: one step, the schema read in one request (a migration to apply goes on to name each step).
    expect(migrate.output).toMatch(drawn('migrate: reading the schema'));
    expect(migrate.output).not.toMatch(drawn('migrate: views'));
    expect(migrate.output).toMatch(/\r\x1b\[Kthe schema is up to date\n$/); // the line cleared before the answer
    expect((await runWarehouse(['migrate'], warehouse.env)).stdout).toBe('the schema is up to date\n');

    const rebuild = await runWarehouseOnTerminal(['rebuild'], warehouse.env);
    expect(rebuild.code, rebuild.output).toBe(0);
    expect(rebuild.output).toMatch(drawn('rebuild: replaying ['));
    expect(rebuild.output).toMatch(drawn(`rebuild: comparing checksums 13/13`));
    expect(rebuild.output).toContain(`every table equals its rebuild from the archive (${days.length * 13} loads replayed)`);
    expect(rebuild.output).not.toMatch(/\b(INFO|WARN|DEBUG)\b/); // the scratch worker's log stays in its file
    const quiet = await runWarehouseOnTerminal(['rebuild', '--json'], warehouse.env);
    expect(quiet.code, quiet.output).toBe(0);
    expect(quiet.output).not.toMatch(controlCharacters);
    expect(JSON.parse(quiet.output)).toMatchObject({ loads: days.length * 13 });
  }, 300_000);

  it('recheck counts the days it replayed, and --json prints the result alone', async () => {
    // Sodiwin re-sends day 2's customers with one name corrected: days 2 to 4 are replayed.
    const path = join(warehouse.inbox, exportFileName(contractFor('customers'), days[1]!));
    const lines = iconv.decode(await readFile(path), 'win1252').split('\r\n');
    const fields = lines[2]!.split(';');
    fields[1] = 'Quincaillerie Corrigée SARL';
    lines[2] = fields.join(';');
    await writeFile(path, iconv.encode(lines.join('\r\n'), 'win1252'));

    // The replay's first stage request is answered 429 (Retry-After 2 s): the re-check lasts past the CLI's
    // one-second refresh once it has found the changed table, however fast this machine loads three days.
    await faults(warehouse, 'POST', { kind: '429', count: 1, retryAfterSeconds: 2, match: 'INSERT INTO \\"_stage_customers\\"' });
    const recheck = await runWarehouseOnTerminal(['recheck', '--date', days[1]!], warehouse.env);
    expect((await faults(warehouse, 'GET')).applied).toBe(1);
    expect(recheck.code, recheck.output).toBe(0);
    expect(recheck.output).toMatch(drawn(`re-check ${days[1]}: 1 changed table(s) (customers), `));
    expect(recheck.output).toMatch(/\r\x1b\[K/);

    // The same day again: nothing changed since; on a terminal with --json, only the JSON.
    const again = await runWarehouseOnTerminal(['recheck', '--date', days[1]!, '--json'], warehouse.env);
    expect(again.code, again.output).toBe(0);
    expect(again.output).not.toMatch(controlCharacters);
    expect(JSON.parse(again.output)).toMatchObject({ businessDate: days[1], rechecked: [] });
  }, 300_000);
});
