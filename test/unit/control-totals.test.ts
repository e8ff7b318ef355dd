import { describe, expect, it } from 'vitest';
import { controlTotalSql, reconcileControlTotal } from '../../activities/verify.ts';
import { contractFor } from '../../contracts/index.ts';

describe("verify's control totals: the file's sum against D1's, exactly", () => {
  it('sums the stored units (an exact integer, as text) of a decimal, and a whole number as itself', () => {
    expect(controlTotalSql(contractFor('orders'), 'total_excl_tax')).toBe('CAST(COALESCE(SUM(h."total_excl_tax_units"), 0) AS TEXT) AS "total_excl_tax"');
    expect(controlTotalSql(contractFor('order_lines'), 'line_no')).toBe('CAST(COALESCE(SUM(h."line_no"), 0) AS TEXT) AS "line_no"');
  });

  it("matches D1's SUM of the units to the file's text at the column's scale", () => {
    expect(reconcileControlTotal('amount', '1234.50', '123450', 2)).toEqual({ measure: 'control total of amount', expected: '1234.50', actual: '1234.50', ok: true });
    expect(reconcileControlTotal('amount', '0.30', '30', 2)).toMatchObject({ actual: '0.30', ok: true });
    expect(reconcileControlTotal('amount', '-12.05', '-1205', 2)).toMatchObject({ ok: true });
    expect(reconcileControlTotal('on_hand', '1.500', '1500', 3)).toMatchObject({ actual: '1.500', ok: true });
    expect(reconcileControlTotal('quantity', '42', '42', 0)).toMatchObject({ actual: '42', ok: true });
    expect(reconcileControlTotal('amount', '0.00', '0', 2)).toMatchObject({ actual: '0.00', ok: true });
    expect(reconcileControlTotal('amount', '0.00', 0, 2)).toMatchObject({ actual: '0.00', ok: true });
  });

  it('tells one cent apart, even where two cents are one double and beyond 2^53 units', () => {
    expect(reconcileControlTotal('amount', '1234.50', '123449', 2)).toMatchObject({ expected: '1234.50', actual: '1234.49', ok: false });
    // 90000000000000.01 and .02 are the same double: Number(a) === Number(b) called them equal.
    expect(Number('90000000000000.01')).toBe(Number('90000000000000.02'));
    expect(reconcileControlTotal('amount', '90000000000000.01', '9000000000000002', 2)).toMatchObject({ actual: '90000000000000.02', ok: false });
    // A 15M-row sum may pass 2^53 units: D1's text of the integer SUM keeps every cent.
    expect(reconcileControlTotal('amount', '123456789012345678.91', '12345678901234567891', 2)).toMatchObject({ actual: '123456789012345678.91', ok: true });
    expect(reconcileControlTotal('amount', '123456789012345678.91', '12345678901234567892', 2)).toMatchObject({ ok: false });
  });

  it('does not match a total that either side cannot read exactly, and says why', () => {
    expect(reconcileControlTotal('amount', '1e3', '100000', 2)).toMatchObject({ expected: '1e3 (not a decimal number (expected e.g. 1234.50))', ok: false });
    expect(reconcileControlTotal('amount', '1000.00', '1000.5', 2)).toMatchObject({ ok: false, actual: '1000.5 (not a whole number of units)' });
    expect(reconcileControlTotal('amount', '0.00', 'NaN', 2)).toMatchObject({ ok: false, actual: 'NaN (not a whole number of units)' });
  });
});
