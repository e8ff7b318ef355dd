import { describe, expect, it } from 'vitest';
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
