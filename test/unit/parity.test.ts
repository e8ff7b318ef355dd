import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { compareParity, differenceCount, queryD1, readScreenExport } from '../../client/parity.ts';
import { sodiwinDialect } from '../../contracts/types.ts';
import { parityQueryFor } from '../../history/parity-queries.ts';

const stock = parityQueryFor('stock-by-depot')!;
const row = (depot: string, product: string, onHand: string, reserved: string) => ({ CODE_DEPOT: depot, CODE_ARTICLE: product, QTE_STOCK: onHand, QTE_RESERVEE: reserved });

describe('compareParity: Sodiwin screen against D1, key by key', () => {
  it('finds nothing when both sides say the same, whatever the row order', () => {
    const sodiwin = [row('LYON', 'A1', '1.000', '0.000'), row('PARIS', 'A1', '2.500', '1.000')];
    const diff = compareParity(stock, sodiwin, [...sodiwin].reverse());
    expect(diff).toEqual({ rowsCompared: 2, onlyInSodiwin: [], onlyInD1: [], different: [] });
    expect(differenceCount(diff)).toBe(0);
  });

  it('lists rows on one side only and every differing value under its composite key', () => {
    const diff = compareParity(
      stock,
      [row('LYON', 'A1', '1.000', '0.000'), row('LYON', 'B2', '3.000', '0.000'), row('PARIS', 'A1', '2.500', '1.000')],
      [row('LYON', 'A1', '1.000', '0.500'), row('PARIS', 'A1', '2.000', '1.000'), row('PARIS', 'C3', '7.000', '0.000')],
    );
    expect(diff).toEqual({
      rowsCompared: 2,
      onlyInSodiwin: ['LYON / B2'],
      onlyInD1: ['PARIS / C3'],
      different: [
        { key: 'LYON / A1', column: 'QTE_RESERVEE', sodiwin: '0.000', d1: '0.500' },
        { key: 'PARIS / A1', column: 'QTE_STOCK', sodiwin: '2.500', d1: '2.000' },
      ],
    });
    expect(differenceCount(diff)).toBe(4);
  });

  it('refuses a side with the same key twice', () => {
    expect(() => compareParity(stock, [row('LYON', 'A1', '1.000', '0.000'), row('LYON', 'A1', '1.000', '0.000')], [])).toThrow("Sodiwin's export has the key LYON / A1 twice");
  });
});

describe('the parity gate reads both sides as exact decimals at the screen\'s scale', () => {
  const balance = parityQueryFor('customer-balance')!;

  async function screen(lines: string[]) {
    const dir = await mkdtemp(join(tmpdir(), 'parity-'));
    const path = join(dir, 'BALANCE.csv');
    await writeFile(path, iconv.encode(['CODE_CLIENT;NB_ECHEANCES;SOLDE', ...lines, ''].join('\r\n'), 'win1252'));
    try {
      return await readScreenExport(path, balance, sodiwinDialect);
    } finally {
      await rm(dir, { recursive: true });
    }
  }

  it("keeps Sodiwin's amounts digit for digit, padded to the scale, -0,00 as 0.00", async () => {
    const { rows } = await screen(['C1;2;1234,5', 'C2;1;-0,00', 'C3;1;90000000000000,01', 'C4;3;007,10']);
    expect(rows.map((r) => r.SOLDE)).toEqual(['1234.50', '0.00', '90000000000000.01', '7.10']);
    expect(rows.map((r) => r.NB_ECHEANCES)).toEqual(['2', '1', '1', '3']);
  });

  it('refuses a Sodiwin amount with more decimals than the screen shows, naming line and column', async () => {
    await expect(screen(['C1;2;1234,505'])).rejects.toThrow('BALANCE.csv, line 2, column SOLDE: at most 2 decimals (value "1234,505")');
  });

  it("reads D1's REAL answers at the scale, so a float sum equals the cents it stands for", async () => {
    const d1 = { query: async () => [{ results: [{ CODE_CLIENT: 'C1', NB_ECHEANCES: 2, SOLDE: 0.1 + 0.2 }, { CODE_CLIENT: 'C2', NB_ECHEANCES: 1, SOLDE: -0 }, { CODE_CLIENT: 'C3', NB_ECHEANCES: 1, SOLDE: 90000000000000.01 }]}] };
    const rows = await queryD1(d1 as never, balance);
    expect(rows.map((r) => r.SOLDE)).toEqual(['0.30', '0.00', '90000000000000.02']);
    // Beyond what a double holds per cent, the difference is shown, not hidden.
    const diff = compareParity(balance, [{ CODE_CLIENT: 'C3', NB_ECHEANCES: '1', SOLDE: '90000000000000.01' }], rows.slice(2));
    expect(diff.different).toEqual([{ key: 'C3', column: 'SOLDE', sodiwin: '90000000000000.01', d1: '90000000000000.02' }]);
  });

  it('refuses a D1 answer that is not an amount', async () => {
    const d1 = { query: async () => [{ results: [{ CODE_CLIENT: 'C1', NB_ECHEANCES: 2, SOLDE: 'n/a' }] }] };
    await expect(queryD1(d1 as never, balance)).rejects.toThrow('D1, column SOLDE: not a finite number: NaN (value "n/a")');
  });
});
