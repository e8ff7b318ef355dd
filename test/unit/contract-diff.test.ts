import { describe, expect, it } from 'vitest';
import { rowHash } from '../../activities/row-hash.ts';
import { decimal, oneOf, text } from '../../contracts/columns.ts';
import { tableContracts } from '../../contracts/index.ts';
import type { ColumnContract, TableContract } from '../../contracts/types.ts';
import { contractBaseline } from '../../history/contract-baseline.ts';
import { contractMigrationStatements, diffContracts, refusalMessage, type RecordedColumn } from '../../history/contract-diff.ts';

const depots = (columns: ColumnContract[]): TableContract => ({
  table: 'depots', description: 'depots', filePattern: 'DEPOTS_{yyyymmdd}.csv', mode: 'full', key: ['depot_code'], columns, controlTotals: [],
});
const today = depots([text('CODE_DEPOT', 'depot_code', 6, 'code'), text('NOM', 'name', 80, 'name'), decimal('SURFACE', 'area', 2, 'm²', { min: 0 })]);
const record = (contract: TableContract): RecordedColumn[] =>
  contract.columns.map((c, position) => ({ table: contract.table, column: c.name, position, source: c.source, type: c.type, addedIn: c.addedIn ?? null }));
const diff = (next: TableContract) => diffContracts(record(today), [next]);

describe('the contract diff: what migrate applies, what it refuses', () => {
  it('the released contract is recorded as the baseline, so today\'s warehouses diff to nothing', () => {
    const recorded = contractBaseline.map(([table, column, source, type]) => ({ table, column, source, type, addedIn: null, position: contractBaseline.filter((c) => c[0] === table).findIndex((c) => c[1] === column) }));
    expect(diffContracts(recorded, tableContracts)).toEqual({ changes: [], refusals: [] });
  });

  it('a new column with addedIn is added to the history and stage tables that exist, and recorded', () => {
    const next = depots([...today.columns, text('TELEPHONE', 'phone', 20, 'phone', { optional: true, addedIn: '2027-01' })]);
    const result = diff(next);
    expect(result).toEqual({ refusals: [], changes: [{ kind: 'column-added', table: 'depots', column: 'phone', definition: '"TELEPHONE" text(max 20) addedIn 2027-01' }] });
    const statements = contractMigrationStatements(result, [next], new Map([['depots', ['depot_code', 'name', 'area_units']], ['_stage_depots', ['_load_id', 'depot_code', 'name', 'area_units', 'phone']]]));
    expect(statements.map((s) => s.sql)).toEqual([
      'ALTER TABLE "depots" ADD COLUMN "phone" TEXT',
      'DELETE FROM etl_contract_columns WHERE table_name = ?',
      ...Array(4).fill(expect.stringMatching(/^INSERT INTO etl_contract_columns/)),
    ]);
    expect(statements.at(-1)?.params).toEqual(['depots', 'phone', 3, 'TELEPHONE', 'TEXT', '{"kind":"text","maxLength":20}', '2027-01']);
  });

  it('a new decimal column is added as its units', () => {
    const next = depots([...today.columns, decimal('LOYER', 'rent', 2, 'rent', {}, { optional: true, addedIn: '2027-01' })]);
    const statements = contractMigrationStatements(diff(next), [next], new Map([['depots', ['depot_code', 'name', 'area_units']]]));
    expect(statements[0]?.sql).toBe('ALTER TABLE "depots" ADD COLUMN "rent_units" INTEGER');
    expect(statements.at(-1)?.params).toEqual(['depots', 'rent', 3, 'LOYER', 'INTEGER', '{"kind":"decimal","scale":2}', '2027-01']);
  });

  it('a widened type and a renamed Sodiwin header are recorded only; a widened decimal scale multiplies the units, with the record', () => {
    const next = depots([text('CODE_DEPOT', 'depot_code', 6, 'code'), text('LIBELLE', 'name', 120, 'name', { previousSources: ['NOM'] }), decimal('SURFACE', 'area', 3, 'm²', { min: 0 })].map((c) =>
      c.name === 'area' ? { ...c, type: { kind: 'decimal' as const, scale: 3, min: 0, hashScale: 2 } } : c));
    const result = diff(next);
    expect(result.refusals).toEqual([]);
    expect(result.changes).toEqual([
      { kind: 'column-widened', table: 'depots', column: 'name', from: 'text(max 80)', to: 'text(max 120)' },
      { kind: 'header-renamed', table: 'depots', column: 'name', from: 'NOM', to: 'LIBELLE' },
      { kind: 'column-widened', table: 'depots', column: 'area', from: 'decimal(scale 2, min 0)', to: 'decimal(scale 3, min 0, hashScale 2)', rescale: { from: 2, to: 3 } },
    ]);
    const statements = contractMigrationStatements(result, [next], new Map([['depots', ['depot_code', 'name', 'area_units']]]));
    expect(statements.some((s) => s.sql.startsWith('ALTER'))).toBe(false);
    // One batch: the units of the history table (the stage table does not exist) and the new record.
    expect(statements.map((s) => s.sql)).toEqual([
      'UPDATE "depots" SET "area_units" = "area_units" * 10 WHERE "area_units" IS NOT NULL',
      'DELETE FROM etl_contract_columns WHERE table_name = ?',
      ...Array(3).fill(expect.stringMatching(/^INSERT INTO etl_contract_columns/)),
    ]);
  });

  it('refuses a dropped column, a narrowed or changed type, a renamed warehouse column, a widened scale without hashScale and a new column without addedIn', () => {
    const refusals = (next: TableContract) => diff(next).refusals.map((r) => `${r.table}.${r.column}: ${r.why}`);
    expect(refusals(depots(today.columns.slice(0, 2)))).toEqual(['depots.area: the column would be dropped with the values already loaded']);
    expect(refusals(depots([today.columns[0]!, text('NOM', 'name', 40, 'name'), today.columns[2]!]))).toEqual(['depots.name: the type is narrowed (shorter maximum length): values already loaded may not fit it']);
    expect(refusals(depots([today.columns[0]!, oneOf('NOM', 'name', ['A'], 'name'), today.columns[2]!]))).toEqual(['depots.name: the type changes from text to enum: the values already loaded would be read differently']);
    expect(refusals(depots([today.columns[0]!, text('NOM', 'label', 80, 'name'), today.columns[2]!]))).toEqual(['depots.name: the warehouse column is renamed: readers, reports and history know it by its old name']);
    expect(refusals(depots([...today.columns.slice(0, 2), decimal('SURFACE', 'area', 3, 'm²', { min: 0 })]))).toEqual([
      'depots.area: the row hash of the rows already loaded is computed at scale 2; set hashScale: 2 on the column so they keep it (activities/row-hash.ts)',
    ]);
    expect(refusals(depots([...today.columns, text('TELEPHONE', 'phone', 20, 'phone')]))).toEqual([
      'depots.phone: a new column needs addedIn, or its NULL in the rows already loaded would change their row hash and open a spurious version of each',
    ]);
    expect(diffContracts(record(today), []).refusals.map((r) => r.table)).toEqual(['depots']);
    expect(refusals(depots([today.columns[0]!, text('LIBELLE', 'name', 80, 'name'), today.columns[2]!]))).toEqual([
      'depots.name: the files archived so far carry the header "NOM": a rewind or a rebuild replaying them would refuse them',
    ]);
    expect(diff(depots([today.columns[0]!, text('LIBELLE', 'name', 80, 'name'), today.columns[2]!])).refusals[0]?.advice).toBe("list the earlier header on the column: previousSources: ['NOM']");
    expect(refusals(depots([today.columns[0]!, today.columns[2]!, today.columns[1]!]))).toEqual([
      'depots.area: the row hash and the checksum take the columns in contract order: every row already loaded would hash differently and get a spurious version',
    ]);
    expect(diff(depots([today.columns[0]!, text('TELEPHONE', 'phone', 20, 'phone', { optional: true, addedIn: '2027-01' }), ...today.columns.slice(1)])).refusals).toEqual([]);
    expect(refusals(depots([today.columns[0]!, text('LIBELLE', 'name', 80, 'name', { previousSources: ['NOM', 'SURFACE'] }), today.columns[2]!]))).toEqual([
      'depots.area: a file with that header could be read as either column',
    ]);
  });

  it('a refusal reads as what changed and what to do', () => {
    const message = refusalMessage(diff(depots([today.columns[0]!, text('NOM', 'name', 40, 'name'), today.columns[2]!])).refusals);
    expect(message).toBe('depots.name: was "NOM" text(max 80), now "NOM" text(max 40): the type is narrowed (shorter maximum length): values already loaded may not fit it. '
      + 'What to do: keep the old definition, or add a new column with the new one (addedIn) and fill it from the next file.');
  });
});

describe('the row hash across contract changes', () => {
  const next = depots([...today.columns.map((c) => (c.name === 'area' ? { ...c, type: { kind: 'decimal' as const, scale: 3, min: 0, hashScale: 2 } } : c)), text('TELEPHONE', 'phone', 20, 'phone', { optional: true, addedIn: '2027-01' })]);
  // 1250.5 m²: 125050 units at scale 2 before the widening, 1250500 at scale 3 after (the units multiplied by 10).
  const row = { depot_code: 'LYON', name: 'Lyon', area: 125050 };
  const widenedRow = { ...row, area: 1250500 };

  it('is unchanged for a row whose new column is NULL and whose decimal fits the first scale', () => {
    expect(rowHash(next, { ...widenedRow, phone: null })).toBe(rowHash(today, row));
    expect(rowHash(next, widenedRow)).toBe(rowHash(today, row));
  });

  it('changes once the new column has a value, or the decimal uses the new scale', () => {
    expect(rowHash(next, { ...widenedRow, phone: '0472000000' })).not.toBe(rowHash(today, row));
    expect(rowHash(next, { ...row, area: 1250505 })).not.toBe(rowHash(next, widenedRow));
    expect(rowHash(next, { ...row, area: 1250505 })).not.toBe(rowHash(next, { ...row, area: 1250510 }));
  });
});
