import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { saveHistories } from '../support/histories.ts';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName } from '../../contracts/types.ts';
import { generateExports } from '../../generator/index.ts';
import { runWarehouse } from '../support/cli.ts';
import { runNight, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

const days = ['2026-10-12', '2026-10-13'];

/**
 * Sodiwin's "balance clients" screen, as Paul would export it: open instalments and open
 * amount per customer, computed here straight from Sodiwin's receivables file of the last
 * day (cents as integers), not by any warehouse code.
 */
async function balanceScreen(inbox: string): Promise<Map<string, { count: number; cents: number }>> {
  const text = iconv.decode(await readFile(join(inbox, exportFileName(contractFor('receivables'), days[1]!))), 'win1252');
  const [header, ...lines] = text.split('\r\n').filter(Boolean);
  const columns = header!.split(';');
  const [customer, open] = [columns.indexOf('CODE_CLIENT'), columns.indexOf('MONTANT_RESTANT')];
  const balances = new Map<string, { count: number; cents: number }>();
  for (const line of lines) {
    const fields = line.split(';');
    const amount = fields[open]!;
    const [units, decimals = ''] = amount.replace('-', '').split(',');
    const cents = (amount.startsWith('-') ? -1 : 1) * (Number(units) * 100 + Number(decimals.padEnd(2, '0')));
    const entry = balances.get(fields[customer]!) ?? { count: 0, cents: 0 };
    balances.set(fields[customer]!, { count: entry.count + 1, cents: entry.cents + cents });
  }
  return balances;
}

async function writeScreen(path: string, balances: Map<string, { count: number; cents: number }>): Promise<void> {
  const money = (cents: number) => `${cents < 0 ? '-' : ''}${Math.floor(Math.abs(cents) / 100)},${String(Math.abs(cents) % 100).padStart(2, '0')}`;
  const lines = ['CODE_CLIENT;NB_ECHEANCES;SOLDE', ...[...balances].map(([code, b]) => `${code};${b.count};${money(b.cents)}`)];
  await writeFile(path, iconv.encode(`${lines.join('\r\n')}\r\n`, 'win1252'));
}

describe('the parity gate: a Sodiwin screen against the same question on D1, then the sign-off', () => {
  let warehouse: IsolatedWarehouse;
  let worker: Awaited<ReturnType<typeof startWorker>>;

  beforeAll(async () => {
    warehouse = await startIsolatedWarehouse();
    await generateExports({ outDir: warehouse.inbox, from: days[0]!, days: days.length, scale: 0.3, seed: 29 });
    worker = await startWorker(warehouse.config);
    for (const day of days) expect((await runNight(warehouse, day)).status).toBe('ok');
  });
  afterAll(async () => {
    await worker?.stop();
    await warehouse?.close();
  });

  it('shows the differences, refuses the sign-off while there are any, and records it once they agree', async () => {
    const balances = await balanceScreen(warehouse.inbox);
    expect(balances.size).toBeGreaterThan(3);
    const screen = join(warehouse.dir, 'balance-clients.csv');
    await writeScreen(screen, balances);
    const args = ['parity', '--table', 'receivables', '--sodiwin', screen, '--query', 'customer-balance'];

    const agree = await runWarehouse(args, warehouse.env);
    expect(agree.code, agree.stderr).toBe(0);
    expect(agree.stdout).toContain(`${balances.size} rows in both, 0 only in Sodiwin, 0 only in D1, 0 values differ`);
    expect(agree.stdout).toContain('Sodiwin and D1 agree.');

    // Sodiwin's screen disagrees: one balance is 1,00 higher, one customer is missing from it.
    const [first, second] = [...balances.keys()].sort();
    const altered = new Map(balances);
    altered.set(first!, { ...balances.get(first!)!, cents: balances.get(first!)!.cents + 100 });
    altered.delete(second!);
    const alteredScreen = join(warehouse.dir, 'balance-clients-altered.csv');
    await writeScreen(alteredScreen, altered);
    const alteredArgs = ['parity', '--table', 'receivables', '--sodiwin', alteredScreen, '--query', 'customer-balance'];
    const differ = await runWarehouse([...alteredArgs, '--json'], warehouse.env);
    expect(differ.code).toBe(2);
    const cents = balances.get(first!)!.cents;
    expect(JSON.parse(differ.stdout)).toMatchObject({
      differences: 2,
      signedOff: false,
      onlyInSodiwin: [],
      onlyInD1: [second],
      different: [{ key: first, column: 'SOLDE', sodiwin: ((cents + 100) / 100).toFixed(2), d1: (cents / 100).toFixed(2) }],
    });
    const refused = await runWarehouse([...alteredArgs, '--sign-off'], warehouse.env);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(new RegExp(`${first} +SOLDE +${((cents + 100) / 100).toFixed(2)} +${(cents / 100).toFixed(2)}`));
    expect(refused.stderr).toContain('sign-off refused: 2 difference(s) between Sodiwin and D1 for customer-balance');

    // mallory's key is not in the worker's list: the worker refuses and records the refusal; no sign-off.
    const stranger = await runWarehouse([...args, '--sign-off', '--key', warehouse.keys.mallory], warehouse.env);
    expect(stranger.code).toBe(1);
    expect(stranger.stderr.split('\n')[0]).toMatch(/^warehouse: sign-off of receivables \(customer-balance\) refused: key SHA256:\S+ is not one of the worker's approver keys$/);
    const [none] = await warehouse.d1.query('SELECT count(*) AS n FROM etl_parity_signoffs');
    expect(none?.results).toEqual([{ n: 0 }]);
    const [refusal] = await warehouse.d1.query('SELECT action, target, accepted, approver FROM etl_approvals');
    expect(refusal?.results).toEqual([{ action: 'parity-signoff', target: 'receivables/customer-balance', accepted: 0, approver: null }]);

    const signed = await runWarehouse([...args, '--sign-off'], warehouse.env);
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stdout).toContain('signed off by paul: D1 is authoritative for receivables');
    const signOffId = /recorded by (parity-signoff-\S+)\)/.exec(signed.stdout)?.[1];
    expect(signOffId).toBeDefined();
    if (process.env.RECORD_HISTORIES) await saveHistories(inject('temporal'), [signOffId!], process.env.RECORD_HISTORIES);
    const [authority] = await warehouse.d1.query<{ table_name: string; signed_off: number; signed_by: string | null; query_name: string | null; loaded_through: string | null }>(
      'SELECT table_name, signed_off, signed_by, query_name, loaded_through FROM v_table_authority ORDER BY table_name',
    );
    expect(authority?.results).toHaveLength(13);
    expect(authority?.results.find((r) => r.table_name === 'receivables')).toEqual({ table_name: 'receivables', signed_off: 1, signed_by: 'paul', query_name: 'customer-balance', loaded_through: days[1] });
    expect(authority?.results.filter((r) => r.signed_off === 1).map((r) => r.table_name)).toEqual(['receivables']);

    const mismatch = await runWarehouse(['parity', '--table', 'stock', '--sodiwin', screen, '--query', 'customer-balance'], warehouse.env);
    expect(mismatch.stderr).toContain('query customer-balance reconciles table receivables, not stock');
    const wrongHeader = await runWarehouse(['parity', '--table', 'stock', '--sodiwin', screen, '--query', 'stock-by-depot'], warehouse.env);
    expect(wrongHeader.stderr).toContain('balance-clients.csv, line 1: the header must be CODE_DEPOT;CODE_ARTICLE;QTE_STOCK;QTE_RESERVEE for query stock-by-depot');
  }, 180_000);
});
