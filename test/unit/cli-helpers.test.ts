import { describe, it, expect } from 'vitest';
import { readOnlyViolation } from '../../client/read-only-sql.ts';
import { isIsoDate } from '../../client/commands/run.ts';
import { formatDecimal } from '../../common/decimal.ts';
import { mapWithConcurrency } from '../../workflows/concurrency.ts';

describe('readOnlyViolation (warehouse query)', () => {
  it('accepts one read-only query, keywords inside strings included', () => {
    expect(readOnlyViolation('SELECT * FROM customers_current')).toBeUndefined();
    expect(readOnlyViolation("WITH c AS (SELECT 1) SELECT * FROM c WHERE 'DELETE' <> 'x';")).toBeUndefined();
    expect(readOnlyViolation('EXPLAIN QUERY PLAN SELECT 1')).toBeUndefined();
  });

  it('refuses writes, schema changes and several statements, saying why', () => {
    expect(readOnlyViolation('DELETE FROM customers')).toMatch(/only SELECT/);
    expect(readOnlyViolation('WITH x AS (SELECT 1) DELETE FROM customers')).toMatch(/DELETE is not allowed/);
    expect(readOnlyViolation('SELECT 1; DROP TABLE customers')).toMatch(/one statement/);
    expect(readOnlyViolation('PRAGMA writable_schema = 1')).toMatch(/only SELECT/);
    expect(readOnlyViolation('   ')).toMatch(/no SQL/);
  });
});

describe('isIsoDate', () => {
  it('accepts real dates and refuses impossible ones and other formats', () => {
    expect(isIsoDate('2026-02-28')).toBe(true);
    expect(isIsoDate('2024-02-29')).toBe(true);
    expect(isIsoDate('2026-02-29')).toBe(false);
    expect(isIsoDate('31/12/2026')).toBe(false);
    expect(isIsoDate('2026-1-5')).toBe(false);
  });
});

describe('formatDecimal (what the control totals are written with)', () => {
  it('renders exact decimal sums', () => {
    expect(formatDecimal(123450n, 2)).toBe('1234.50');
    expect(formatDecimal(-5n, 2)).toBe('-0.05');
    expect(formatDecimal(7n, 0)).toBe('7');
    expect(formatDecimal(1n, 3)).toBe('0.001');
  });
});

describe('mapWithConcurrency', () => {
  it('keeps input order and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const result = await mapWithConcurrency([30, 10, 20, 5, 15], 2, async (ms) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, ms));
      running -= 1;
      return ms * 2;
    });
    expect(result).toEqual([60, 20, 40, 10, 30]);
    expect(peak).toBe(2);
  });
});
