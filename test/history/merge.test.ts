import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { rowHash } from '../../activities/row-hash.ts';
import { decimal, text } from '../../contracts/columns.ts';
import type { NormalisedRow } from '../../contracts/row-schema.ts';
import type { TableContract } from '../../contracts/types.ts';
import { createD1Client } from '../../d1/client.ts';
import { packInserts } from '../../d1/pack.ts';
import { historyDdl, stageTable } from '../../history/ddl.ts';
import { scd2MergeStatements } from '../../history/merge.ts';
import { revertLoadStatements } from '../../history/revert.ts';
import { uniqueName } from '../support/environment.ts';

const d1Info = inject('d1');
const d1 = createD1Client({ baseUrl: d1Info.baseUrl, accountId: d1Info.accountId, databaseId: d1Info.databaseId, apiToken: d1Info.apiToken });

function contractOf(mode: 'full' | 'delta'): TableContract {
  return {
    table: uniqueName(`hist_${mode}`),
    description: 'test table',
    filePattern: 'T_{yyyymmdd}.csv',
    mode,
    key: ['code'],
    columns: [text('CODE', 'code', 10, 'key'), text('NOM', 'name', 50, 'name'), decimal('PRIX', 'price', 2, 'price', {}, { optional: true })],
    controlTotals: ['price'],
  };
}

/** Stages rows under a load id and merges them as of a date, as stage + publish do. */
async function load(contract: TableContract, businessDate: string, rows: NormalisedRow[]) {
  const loadId = `${businessDate}_${contract.table}`;
  await d1.batch(historyDdl(contract).map((sql) => ({ sql })));
  // A decimal is staged as its units (the normalised row's value: cents at scale 2).
  const columns = ['_load_id', '_line', 'code', 'name', 'price_units', '_row_hash'];
  await d1.query(`DELETE FROM "${stageTable(contract)}" WHERE _load_id = ?`, [loadId]); // as stage does on a fresh attempt
  const values = rows.map((r, i) => [loadId, i + 2, r.code ?? null, r.name ?? null, r.price ?? null, rowHash(contract, r)]);
  if (values.length) await d1.batch(packInserts({ table: stageTable(contract), columns, rows: values, mode: 'literal' }));
  const merge = scd2MergeStatements({ contract, loadId, businessDate });
  const results = await d1.batch(merge);
  const changes = (effect: string) => merge.reduce((n, s, i) => n + (s.effect === effect ? (results[i]?.meta.changes ?? 0) : 0), 0);
  return { loadId, inserted: changes('inserted'), closed: changes('closed'), tombstoned: changes('tombstoned') };
}

/** Every version, oldest first, without ids; the price as stored, in cents. */
async function versions(contract: TableContract) {
  const [result] = await d1.query(`SELECT code, name, price_units, _valid_from, _valid_to, _is_current, _is_deleted FROM "${contract.table}" ORDER BY code, _valid_from, _is_deleted`);
  return result?.results ?? [];
}

async function current(contract: TableContract) {
  // The view presents the price as the decimal, next to its exact units.
  const [result] = await d1.query(`SELECT code, name, price, price_units FROM "${contract.table}_current" ORDER BY code`);
  return result?.results ?? [];
}

const v = (code: string, name: string, priceUnits: number | null, from: string, to: string | null, isDeleted = 0) => ({
  code, name, price_units: priceUnits, _valid_from: from, _valid_to: to, _is_current: to === null ? 1 : 0, _is_deleted: isDeleted,
});

describe('SCD2 merge on the local D1 service', () => {
  it('full snapshot: inserts new keys, closes changed ones, ignores unchanged, tombstones vanished keys and reopens them', async () => {
    const t = contractOf('full');
    expect(await load(t, '2026-03-01', [{ code: 'A', name: 'Alpha', price: 150 }, { code: 'B', name: 'Bêta', price: 200 }])).toMatchObject({ inserted: 2, closed: 0, tombstoned: 0 });
    expect(await load(t, '2026-03-02', [{ code: 'A', name: 'Alpha', price: 150 }, { code: 'B', name: 'Bêta', price: 225 }])).toMatchObject({ inserted: 1, closed: 1, tombstoned: 0 });
    expect(await load(t, '2026-03-03', [{ code: 'B', name: 'Bêta', price: 225 }])).toMatchObject({ inserted: 0, closed: 1, tombstoned: 1 });
    expect(await load(t, '2026-03-04', [{ code: 'A', name: 'Alpha', price: 150 }, { code: 'B', name: 'Bêta', price: 225 }])).toMatchObject({ inserted: 1, closed: 1, tombstoned: 0 });

    expect(await versions(t)).toEqual([
      v('A', 'Alpha', 150, '2026-03-01', '2026-03-03'),
      v('A', 'Alpha', 150, '2026-03-03', '2026-03-04', 1),
      v('A', 'Alpha', 150, '2026-03-04', null),
      v('B', 'Bêta', 200, '2026-03-01', '2026-03-02'),
      v('B', 'Bêta', 225, '2026-03-02', null),
    ]);
    expect(await current(t)).toEqual([{ code: 'A', name: 'Alpha', price: 1.5, price_units: 150 }, { code: 'B', name: 'Bêta', price: 2.25, price_units: 225 }]);

    const [asOf] = await d1.query(`SELECT code, _is_deleted FROM "${t.table}" WHERE _valid_from <= ? AND (_valid_to IS NULL OR _valid_to > ?) ORDER BY code`, ['2026-03-03', '2026-03-03']);
    expect(asOf?.results).toEqual([{ code: 'A', _is_deleted: 1 }, { code: 'B', _is_deleted: 0 }]);
  });

  it('loading the same day twice writes nothing the second time', async () => {
    const t = contractOf('full');
    const rows = [{ code: 'A', name: 'Œuvre “d’art”; €', price: null }, { code: 'B', name: 'x', price: 0 }];
    await load(t, '2026-03-01', rows);
    const before = await versions(t);
    expect(await load(t, '2026-03-01', rows)).toMatchObject({ inserted: 2, closed: 0, tombstoned: 0 }); // the retry reverts its own load first, then rewrites it
    expect(await versions(t)).toEqual(before);
    expect(await load(t, '2026-03-02', rows)).toMatchObject({ inserted: 0, closed: 0, tombstoned: 0 });
    expect(await versions(t)).toEqual(before);
  });

  it('delta: absent keys are untouched, changed keys get a new version', async () => {
    const t = contractOf('delta');
    await load(t, '2026-03-01', [{ code: 'A', name: 'one', price: 100 }, { code: 'B', name: 'two', price: 200 }]);
    expect(await load(t, '2026-03-02', [{ code: 'B', name: 'two', price: 300 }])).toMatchObject({ inserted: 1, closed: 1, tombstoned: 0 });
    expect(await current(t)).toEqual([{ code: 'A', name: 'one', price: 1, price_units: 100 }, { code: 'B', name: 'two', price: 3, price_units: 300 }]);
  });

  it('revert-by-load restores the exact previous history', async () => {
    const t = contractOf('full');
    await load(t, '2026-03-01', [{ code: 'A', name: 'a', price: 100 }, { code: 'B', name: 'b', price: 200 }, { code: 'C', name: 'c', price: 300 }]);
    const before = await versions(t);
    const bad = await load(t, '2026-03-02', [{ code: 'A', name: 'a2', price: 100 }, { code: 'D', name: 'd', price: 400 }]);
    expect(bad).toMatchObject({ inserted: 2, closed: 3, tombstoned: 2 });
    await d1.batch(revertLoadStatements(t, bad.loadId));
    expect(await versions(t)).toEqual(before);
  });
});
