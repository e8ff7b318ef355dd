import { describe, expect, it } from 'vitest';
import { rowValidatorFor } from '../../activities/row-validator.ts';
import { contractFor, tableContracts } from '../../contracts/index.ts';
import { canonicalValue } from '../../contracts/row-schema.ts';
import { exportFileName } from '../../contracts/types.ts';
import { parseDecimal, parseFrenchDate, parseInteger } from '../../contracts/values.ts';

describe('the default Sodiwin contract', () => {
  it('has the 13 tables of DESIGN §8 with sound keys, totals and headers', () => {
    expect(tableContracts.map((c) => c.table).sort()).toEqual(
      ['brands', 'customers', 'depots', 'invoice_lines', 'invoices', 'order_lines', 'orders', 'payments', 'price_lists', 'products', 'receivables', 'reps', 'stock'],
    );
    expect(new Set(tableContracts.map((c) => c.filePattern)).size).toBe(13);
    for (const contract of tableContracts) {
      const names = contract.columns.map((c) => c.name);
      expect(new Set(names).size, contract.table).toBe(names.length);
      expect(new Set(contract.columns.map((c) => c.source)).size, contract.table).toBe(names.length);
      for (const column of contract.columns) {
        expect(column.source, contract.table).toMatch(/^[A-Z][A-Z_]*$/);
        expect(column.name, contract.table).toMatch(/^[a-z][a-z_]*$/);
      }
      for (const key of contract.key) expect(contract.columns.find((c) => c.name === key)?.required, `${contract.table}.${key}`).toBe(true);
      for (const total of contract.controlTotals) expect(['decimal', 'integer'], `${contract.table}.${total}`).toContain(contract.columns.find((c) => c.name === total)?.type.kind);
      expect(contract.mode === 'full' ? contract.minRowRatio : undefined, contract.table).toSatisfy((r) => contract.mode === 'delta' || (typeof r === 'number' && r > 0 && r <= 1));
    }
  });

  it('names files by business date and refuses unknown tables', () => {
    expect(exportFileName(contractFor('customers'), '2026-03-02')).toBe('CLIENTS_20260302.csv');
    expect(() => contractFor('clients')).toThrow(/unknown table "clients".*customers/);
  });
});

describe('reading Sodiwin values', () => {
  it('reads decimal commas exactly, as whole units at the scale, and refuses points, separators and extra decimals', () => {
    expect(parseDecimal('1234,50', 2)).toEqual({ ok: true, value: 123450 });
    expect(parseDecimal('-0,00', 2)).toEqual({ ok: true, value: 0 });
    expect(Object.is((parseDecimal('-0,00', 2) as { value: number }).value, -0)).toBe(false);
    expect(parseDecimal('12', 2)).toEqual({ ok: true, value: 1200 });
    expect(parseDecimal('-0,05', 3)).toEqual({ ok: true, value: -50 });
    expect(parseDecimal('90071992547409,91', 2)).toEqual({ ok: true, value: Number.MAX_SAFE_INTEGER });
    expect(parseDecimal('90071992547409,92', 2)).toEqual({ ok: false, rule: 'number out of range' });
    expect(parseDecimal('12.50', 2)).toEqual({ ok: false, rule: 'decimal comma expected, found a point' });
    expect(parseDecimal('1 234,50', 2)).toMatchObject({ ok: false });
    expect(parseDecimal('1,234', 2)).toEqual({ ok: false, rule: 'at most 2 decimals' });
    expect(parseDecimal('abc', 2)).toMatchObject({ ok: false });
  });

  it('reads dd/mm/yyyy dates and refuses impossible ones and other formats', () => {
    expect(parseFrenchDate('29/02/2024')).toEqual({ ok: true, value: '2024-02-29' });
    expect(parseFrenchDate('31/02/2026')).toEqual({ ok: false, rule: 'no such calendar date' });
    expect(parseFrenchDate('2026-02-01')).toEqual({ ok: false, rule: 'date must be dd/mm/yyyy' });
    expect(parseFrenchDate('1/2/2026')).toMatchObject({ ok: false });
  });

  it('reads whole numbers', () => {
    expect(parseInteger('42')).toEqual({ ok: true, value: 42 });
    expect(parseInteger('4,2')).toMatchObject({ ok: false });
    expect(parseInteger('99999999999999999999')).toEqual({ ok: false, rule: 'number out of range' });
  });

  it('canonical values: a decimal\'s units at its scale, the text a REAL gave before units; NULL apart from empty text', () => {
    expect(canonicalValue({ kind: 'decimal', scale: 2 }, 1250)).toBe('12.50');
    expect(canonicalValue({ kind: 'decimal', scale: 2 }, 123450)).toBe((1234.5).toFixed(2));
    expect(canonicalValue({ kind: 'decimal', scale: 3 }, -5)).toBe('-0.005');
    expect(() => canonicalValue({ kind: 'decimal', scale: 2 }, 12.5)).toThrow(RangeError);
    expect(canonicalValue({ kind: 'text', maxLength: 5 }, null)).not.toBe(canonicalValue({ kind: 'text', maxLength: 5 }, ''));
  });
});

describe('row validation against a contract', () => {
  const validate = rowValidatorFor(contractFor('orders'));
  const good = { NUM_COMMANDE: 'C000123', CODE_CLIENT: 'CL0042', CODE_REPRESENTANT: '', CODE_DEPOT: 'LYO', DATE_COMMANDE: '02/03/2026', STATUT: 'VALIDEE', MONTANT_HT: '1234,50' };

  it('normalises a valid row to warehouse names and types', () => {
    expect(validate(good, 7)).toEqual({
      ok: true,
      row: { order_no: 'C000123', customer_code: 'CL0042', rep_code: null, depot_code: 'LYO', order_date: '2026-03-02', status: 'VALIDEE', total_excl_tax: 123450 },
    });
  });

  it('lists every problem of a row with line, source column, value and rule', () => {
    const result = validate({ ...good, NUM_COMMANDE: ' ', DATE_COMMANDE: '31/02/2026', STATUT: 'PERDUE', MONTANT_HT: '-3,00' }, 9);
    expect(result).toEqual({
      ok: false,
      issues: [
        { line: 9, column: 'NUM_COMMANDE', value: ' ', rule: 'required value is empty' },
        { line: 9, column: 'DATE_COMMANDE', value: '31/02/2026', rule: 'no such calendar date' },
        { line: 9, column: 'STATUT', value: 'PERDUE', rule: 'not one of SAISIE, VALIDEE, EXPEDIEE, FACTUREE, ANNULEE' },
        { line: 9, column: 'MONTANT_HT', value: '-3,00', rule: 'must not be negative' },
      ],
    });
  });

  it('refuses text longer than the contract allows', () => {
    expect(validate({ ...good, NUM_COMMANDE: 'X'.repeat(13) }, 3)).toMatchObject({ ok: false, issues: [{ column: 'NUM_COMMANDE', rule: 'longer than 12 characters' }] });
  });
});
