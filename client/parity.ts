import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import type { Dialect } from '../contracts/types.ts';
import { decimalFromNumber, decimalText, parseDecimal } from '../common/decimal.ts';
import { parseInteger } from '../contracts/values.ts';
import type { D1Client } from '../d1/client.ts';
import type { ParityQuery, ScreenColumn } from '../history/parity-queries.ts';
import { UserError } from './cli-support.ts';

/** A row of either side, keyed by screen header; numbers normalised to text at the column's scale. */
export type ScreenRow = Record<string, string>;

/** What differs between Sodiwin's screen and D1's answer. */
export interface ParityDiff {
  rowsCompared: number;
  onlyInSodiwin: string[];
  onlyInD1: string[];
  different: { key: string; column: string; sodiwin: string; d1: string }[];
}

/** The number of differences (rows on one side only, plus differing values). */
export const differenceCount = (diff: ParityDiff) => diff.onlyInSodiwin.length + diff.onlyInD1.length + diff.different.length;

/**
 * A value as compared: decimals as exact text at their scale (`12.50`), integers as digits,
 * text trimmed. Both sides of a decimal go through common/decimal.ts: Sodiwin's text is read
 * exactly (more decimals than the scale is refused), D1's number is read at the scale
 * (nearest unit, half away from zero), so equal texts are equal amounts.
 */
function normalise(column: ScreenColumn, value: unknown, fromSodiwin: boolean, where: () => string): string {
  if (value === null || value === undefined || value === '') return '';
  if (column.kind === 'text') return String(value).trim();
  const scale = column.scale ?? 0;
  if (!fromSodiwin) {
    if (column.kind !== 'decimal') return String(Math.round(Number(value)));
    const read = decimalFromNumber(Number(value), scale);
    if (!read.ok) throw new UserError(`${where()}, column ${column.header}: ${read.rule} (value ${JSON.stringify(value)})`);
    return decimalText(read.value);
  }
  const text = String(value).trim();
  const parsed = column.kind === 'decimal' ? parseDecimal(text, { scale }) : parseInteger(text);
  if (!parsed.ok) throw new UserError(`${where()}, column ${column.header}: ${parsed.rule} (value "${text}")`);
  return typeof parsed.value === 'number' ? String(parsed.value) : decimalText(parsed.value);
}

/** Reads Sodiwin's screen export (the nightly files' dialect) and checks its header against the query. */
export async function readScreenExport(path: string, query: ParityQuery, dialect: Dialect): Promise<{ rows: ScreenRow[]; sha256: string }> {
  const bytes = await readFile(path).catch(() => {
    throw new UserError(`cannot read the Sodiwin export ${path}`);
  });
  const file = basename(path);
  let records: string[][];
  try {
    records = parse(iconv.decode(bytes, dialect.encoding === 'windows-1252' ? 'win1252' : 'utf8'), { delimiter: dialect.delimiter, quote: dialect.quote, skip_empty_lines: true, bom: true });
  } catch (error) {
    throw new UserError(`${file}: not a readable CSV in Sodiwin's dialect: ${(error as Error).message}`);
  }
  const [header = [], ...data] = records;
  const expected = query.columns.map((c) => c.header);
  if (header.join(';') !== expected.join(';')) throw new UserError(`${file}, line 1: the header must be ${expected.join(';')} for query ${query.name}, found ${header.join(';')}`);
  const rows = data.map((record, i) => {
    if (record.length !== expected.length) throw new UserError(`${file}, line ${i + 2}: expected ${expected.length} fields, found ${record.length}`);
    return Object.fromEntries(query.columns.map((c, j) => [c.header, normalise(c, record[j], true, () => `${file}, line ${i + 2}`)]));
  });
  return { rows, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** D1's answer to the query, normalised like the screen. */
export async function queryD1(d1: Pick<D1Client, 'query'>, query: ParityQuery): Promise<ScreenRow[]> {
  const [result] = await d1.query<Record<string, unknown>>(query.sql);
  return (result?.results ?? []).map((row) => Object.fromEntries(query.columns.map((c) => [c.header, normalise(c, row[c.header], false, () => 'D1')])));
}

/** Compares the two sides key by key. Pure. */
export function compareParity(query: ParityQuery, sodiwin: ScreenRow[], d1: ScreenRow[]): ParityDiff {
  const keyOf = (row: ScreenRow) => query.columns.slice(0, query.keyColumns).map((c) => row[c.header]).join(' / ');
  const index = (rows: ScreenRow[], side: string) => {
    const map = new Map<string, ScreenRow>();
    for (const row of rows) {
      if (map.has(keyOf(row))) throw new UserError(`${side} has the key ${keyOf(row)} twice: the query or the export is not per ${query.columns.slice(0, query.keyColumns).map((c) => c.header).join(', ')}`);
      map.set(keyOf(row), row);
    }
    return map;
  };
  const left = index(sodiwin, "Sodiwin's export");
  const right = index(d1, 'D1');
  const diff: ParityDiff = { rowsCompared: 0, onlyInSodiwin: [], onlyInD1: [], different: [] };
  for (const [key, row] of [...left].sort(([a], [b]) => a.localeCompare(b))) {
    const other = right.get(key);
    if (!other) {
      diff.onlyInSodiwin.push(key);
      continue;
    }
    diff.rowsCompared += 1;
    for (const column of query.columns.slice(query.keyColumns)) {
      if (row[column.header] !== other[column.header]) diff.different.push({ key, column: column.header, sodiwin: row[column.header] ?? '', d1: other[column.header] ?? '' });
    }
  }
  diff.onlyInD1 = [...right.keys()].filter((k) => !left.has(k)).sort();
  return diff;
}
