import { describe, expect, it } from 'vitest';
import { duration, formatBackfillProgress, RateMeter, thousands } from '../../client/backfill-progress.ts';
import { contractFor } from '../../contracts/index.ts';
import { D1_MAX_STATEMENT_BYTES } from '../../d1/limits.ts';
import { splitSqlStatements } from '../../d1/sql-split.ts';
import { backfillChunkSql } from '../../history/backfill.ts';
import { addDecimals } from '../../workflows/backfill.ts';

describe('backfillChunkSql', () => {
  const contract = contractFor('brands');
  const rows = Array.from({ length: 3000 }, (_, i) => ({ line: i + 2, values: [`B${i}`, `Marque l'${i}`], rowHash: `h${i}` }));
  const sql = backfillChunkSql({ contract, loadId: 'backfill_2025-12-31_brands', asOf: '2025-12-31', file: 'MARQUES_20251231_P001.csv', chunk: 4, firstLine: 2, lastLine: 3001, rows, at: '2026-01-01T00:00:00.000Z' });
  const statements = splitSqlStatements(sql);

  it('packs open versions valid from the as-of date into statements within D1\'s 100,000 bytes, then the chunk marker', () => {
    expect(statements.length).toBeGreaterThan(1);
    for (const s of statements) expect(Buffer.byteLength(s)).toBeLessThanOrEqual(D1_MAX_STATEMENT_BYTES);
    const inserts = statements.slice(0, -1).join('\n');
    expect(inserts.match(/\('B\d+','Marque l''\d+','2025-12-31',NULL,1,0,'h\d+','backfill_2025-12-31_brands',NULL\)/g)).toHaveLength(3000);
    expect(statements.at(-1)).toBe(
      "INSERT INTO etl_backfill_chunks (load_id, file, chunk, first_line, last_line, rows, imported_at) VALUES ('backfill_2025-12-31_brands', 'MARQUES_20251231_P001.csv', 4, 2, 3001, 3000, '2026-01-01T00:00:00.000Z')",
    );
  });
});

describe('addDecimals', () => {
  it('adds decimal text exactly, signs and scales included', () => {
    expect(addDecimals('0', '1234.50')).toBe('1234.50');
    expect(addDecimals('0.10', '0.20')).toBe('0.30');
    expect(addDecimals('-5.25', '2.5')).toBe('-2.75');
    expect(addDecimals('9007199254740993.01', '0.99')).toBe('9007199254740994.00');
  });
});

describe('the backfill progress bar', () => {
  const base = { asOf: '2025-12-31', filesTotal: 10, filesValidated: 10, filesImported: 4, rowsTotal: 2_000_000 };

  it('shows rows, rate and ETA while importing', () => {
    const line = formatBackfillProgress({ ...base, phase: 'importing', currentFile: 'COMMANDES_20251231_P002.csv' }, 500_000, 25_000, 20);
    expect(line).toBe('importing [#####...............]  25% 500,000/2,000,000 rows  25,000 rows/s  ETA 1m 00s  files 4/10  COMMANDES_20251231_P002.csv');
  });

  it('shows files while validating', () => {
    expect(formatBackfillProgress({ ...base, phase: 'validating', filesValidated: 3 }, 0, undefined, 10)).toBe('validating [###.......] 3/10 files');
  });

  it('measures rows/s over a sliding window', () => {
    const meter = new RateMeter(10_000);
    meter.add({ at: 0, rows: 0 });
    expect(meter.rowsPerSecond()).toBeUndefined();
    meter.add({ at: 5_000, rows: 50_000 });
    expect(meter.rowsPerSecond()).toBe(10_000);
    meter.add({ at: 20_000, rows: 350_000 }); // the window moved: only the last 15 s count
    meter.add({ at: 25_000, rows: 450_000 });
    expect(meter.rowsPerSecond()).toBe(20_000);
  });

  it('formats counts and durations', () => {
    expect(thousands(1234567)).toBe('1,234,567');
    expect(duration(42_000)).toBe('42s');
    expect(duration(185_000)).toBe('3m 05s');
    expect(duration(3_720_000)).toBe('1h 02m');
  });
});
