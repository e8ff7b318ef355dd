import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { tableChecksum } from '../../client/checksum.ts';
import type { D1Client } from '../../d1/client.ts';
import { contractFor } from '../../contracts/index.ts';
import { text } from '../../contracts/columns.ts';
import type { TableContract } from '../../contracts/types.ts';
import { rowHash } from '../../activities/row-hash.ts';
import { checksumLine } from '../../history/checksum.ts';

const stock = contractFor('stock');
// A version as D1 returns it: the quantities as stored, in thousandths (`<name>_units`, scale 3).
const version = { _version_id: 7, _loaded_by: 'load-a', depot_code: 'LYON', product_code: 'A1', on_hand_units: 12500, reserved_units: 0, on_order_units: 3000, _row_hash: 'abc', _valid_from: '2026-03-02', _valid_to: null, _is_current: 1, _is_deleted: 0 };

describe('checksumLine: one version of a history table in the checksum', () => {
  it('ignores version ids and load ids, and refuses stored units that are not a whole number rather than round them', () => {
    expect(checksumLine(stock, { ...version, _version_id: 99, _loaded_by: 'load-b' })).toBe(checksumLine(stock, version));
    expect(() => checksumLine(stock, { ...version, on_hand_units: 12499.999999999998 })).toThrow(RangeError);
  });

  it('changes when a stored value, the validity or a flag changes, even with the same row hash', () => {
    const line = checksumLine(stock, version);
    expect(checksumLine(stock, { ...version, on_hand_units: 12400 })).not.toBe(line);
    expect(checksumLine(stock, { ...version, on_hand_units: 12501 })).not.toBe(line);
    expect(checksumLine(stock, { ...version, depot_code: 'PARIS' })).not.toBe(line);
    expect(checksumLine(stock, { ...version, _valid_to: '2026-03-03' })).not.toBe(line);
    expect(checksumLine(stock, { ...version, _is_deleted: 1 })).not.toBe(line);
  });
});

describe('checksumLine after a contract change: no row changed, so no line does', () => {
  // The same stock table after two migrations: on_hand widened from 3 to 4 decimals (hashed at 3), and two columns added.
  const widened: TableContract = {
    ...stock,
    columns: [
      ...stock.columns.map((c) => (c.name === 'on_hand' ? { ...c, type: { kind: 'decimal' as const, scale: 4, hashScale: 3 } } : c)),
      text('EMPLACEMENT', 'bin', 10, 'Bin', { optional: true, addedIn: '2027-01' }),
      text('ALLEE', 'aisle', 10, 'Aisle', { optional: true, addedIn: '2027-02' }),
    ],
  };

  // The stock table's on_hand as stored after the widening: its units multiplied by 10 (12.5 is 125000 at scale 4).
  const widenedVersion = { ...version, on_hand_units: 125000 };

  it('is, for a contract without addedIn or hashScale, the stored values at their scale, then the hash, validity and flags (the text the REAL 12.5 gave before units)', () => {
    expect(checksumLine(stock, version)).toBe('["LYON","A1","12.500","0.000","3.000","abc","2026-03-02",null,1,0]');
  });

  it('leaves out an added column while it is NULL, and gives a widened decimal at its first scale when it fits', () => {
    expect(checksumLine(widened, { ...widenedVersion, bin: null, aisle: null })).toBe(checksumLine(stock, version));
    expect(checksumLine(widened, widenedVersion)).toBe(checksumLine(stock, version)); // the column as D1 returns it before any value
    expect(checksumLine(widened, { ...widenedVersion, on_hand_units: 3_000_000 })).toBe(checksumLine(stock, { ...version, on_hand_units: 300_000 }));
  });

  it('changes once the added column holds a value or the decimal uses its new scale, and tells two added columns apart', () => {
    const line = checksumLine(widened, widenedVersion);
    expect(checksumLine(widened, { ...widenedVersion, bin: 'A-12' })).not.toBe(line);
    expect(checksumLine(widened, { ...widenedVersion, on_hand_units: 125005 })).not.toBe(line);
    expect(checksumLine(widened, { ...widenedVersion, on_hand_units: 125005 })).toContain('"12.5005"');
    expect(checksumLine(widened, { ...widenedVersion, bin: 'A-12' })).not.toBe(checksumLine(widened, { ...widenedVersion, aisle: 'A-12' }));
  });

  it('agrees with the row hash: the rows a load keeps as unchanged are the lines the checksum keeps', () => {
    // Normalised rows carry units: 12.5 is 12500 at scale 3, 125000 at the widened scale 4.
    const row = { depot_code: 'LYON', product_code: 'A1', on_hand: 12500, reserved: 0, on_order: 3000 };
    expect(rowHash(widened, { ...row, on_hand: 125000, bin: null, aisle: null })).toBe(rowHash(stock, row));
    expect(rowHash(widened, { ...row, bin: 'A-12', aisle: null })).not.toBe(rowHash(widened, { ...row, bin: null, aisle: 'A-12' }));
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
