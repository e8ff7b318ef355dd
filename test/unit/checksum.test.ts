import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { tableChecksum } from '../../client/checksum.ts';
import type { D1Client } from '../../d1/client.ts';
import { contractFor } from '../../contracts/index.ts';
import { checksumLine } from '../../history/checksum.ts';

const stock = contractFor('stock');
const version = { _version_id: 7, _loaded_by: 'load-a', depot_code: 'LYON', product_code: 'A1', on_hand: 12.5, reserved: 0, on_order: 3, _row_hash: 'abc', _valid_from: '2026-03-02', _valid_to: null, _is_current: 1, _is_deleted: 0 };

describe('checksumLine: one version of a history table in the checksum', () => {
  it('ignores version ids, load ids, and floating-point noise below the column\'s scale', () => {
    expect(checksumLine(stock, { ...version, _version_id: 99, _loaded_by: 'load-b' })).toBe(checksumLine(stock, version));
    expect(checksumLine(stock, { ...version, on_hand: 12.499999999999998 })).toBe(checksumLine(stock, version));
  });

  it('changes when a stored value, the validity or a flag changes, even with the same row hash', () => {
    const line = checksumLine(stock, version);
    expect(checksumLine(stock, { ...version, on_hand: 12.4 })).not.toBe(line);
    expect(checksumLine(stock, { ...version, depot_code: 'PARIS' })).not.toBe(line);
    expect(checksumLine(stock, { ...version, _valid_to: '2026-03-03' })).not.toBe(line);
    expect(checksumLine(stock, { ...version, _is_deleted: 1 })).not.toBe(line);
  });
});

describe('tableChecksum: the sorted lines of every version, hashed', () => {
  /** A fake of D1's query for one table, paged by version id as the real SQL asks. */
  const fakeD1 = (rows: (typeof version)[]): Pick<D1Client, 'query'> => ({
    query: async (sql, params) => {
      const results = sql.includes('sqlite_master') ? [{ n: 1 }] : sql.includes('"stock_current"') ? [{ n: rows.length }] : rows.filter((r) => r._version_id > Number(params![0])).slice(0, Number(params![1]));
      return [{ results, success: true, meta: {} }] as never;
    },
  });

  it('equals the sha256 of the sorted lines joined by newlines, over several pages', async () => {
    const rows = Array.from({ length: 12_345 }, (_, i) => ({ ...version, _version_id: i + 1, product_code: `P${(i * 7919) % 12_345}` }));
    const expected = createHash('sha256').update(rows.map((r) => checksumLine(stock, r)).sort().join('\n')).digest('hex');
    expect(await tableChecksum(fakeD1(rows), stock)).toEqual({ table: 'stock', versions: 12_345, current: 12_345, sha256: expected });
  });
});
