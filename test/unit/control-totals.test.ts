import { describe, expect, it } from 'vitest';
import { reconcileControlTotal } from '../../activities/verify.ts';

describe("verify's control totals: the file's sum against D1's, exactly", () => {
  it("matches D1's ROUND(SUM) of a REAL column to the file's text at the column's scale", () => {
    expect(reconcileControlTotal('amount', '1234.50', 1234.5, 2)).toEqual({ measure: 'control total of amount', expected: '1234.50', actual: '1234.50', ok: true });
    expect(reconcileControlTotal('amount', '0.30', 0.1 + 0.2, 2)).toMatchObject({ actual: '0.30', ok: true });
    expect(reconcileControlTotal('amount', '-12.05', -12.05, 2)).toMatchObject({ ok: true });
    expect(reconcileControlTotal('on_hand', '1.500', 1.5, 3)).toMatchObject({ actual: '1.500', ok: true });
    expect(reconcileControlTotal('quantity', '42', 42, 0)).toMatchObject({ actual: '42', ok: true });
    expect(reconcileControlTotal('amount', '0.00', 0, 2)).toMatchObject({ actual: '0.00', ok: true });
  });

  it('tells one cent apart, even where two cents are one double', () => {
    expect(reconcileControlTotal('amount', '1234.50', 1234.49, 2)).toMatchObject({ expected: '1234.50', actual: '1234.49', ok: false });
    // 90000000000000.01 and .02 are the same double: Number(a) === Number(b) called them equal.
    expect(Number('90000000000000.01')).toBe(Number('90000000000000.02'));
    expect(reconcileControlTotal('amount', '90000000000000.01', 90000000000000.02, 2)).toMatchObject({ actual: '90000000000000.02', ok: false });
  });

  it('does not match a total that either side cannot hold exactly, and says why', () => {
    expect(reconcileControlTotal('amount', '1e3', 1000, 2)).toMatchObject({ expected: '1e3 (not a decimal number (expected e.g. 1234.50))', ok: false });
    expect(reconcileControlTotal('amount', '100000000000000.00', 1e14, 2)).toMatchObject({ ok: false, actual: expect.stringContaining('beyond 2^53 units at scale 2') });
    expect(reconcileControlTotal('amount', '0.00', Number.NaN, 2)).toMatchObject({ ok: false, actual: 'NaN (not a finite number: NaN)' });
  });
});
