import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import { decimalText, parseDecimal } from '../common/decimal.ts';
import { etlFailure } from '../common/errors.ts';
import type { Dialect, TableContract } from '../contracts/types.ts';
import { openInInbox } from './nas.ts';

/**
 * Sodiwin's optional per-night manifest, `MANIFEST_<yyyymmdd>.csv` in the inbox, in the
 * export dialect: `FICHIER;NB_LIGNES;SHA256;TOTAUX_CONTROLE`, one row per export file.
 * TOTAUX_CONTROLE lists `SOURCE_COLUMN=total` pairs joined by `|` (decimal comma), or is empty.
 * When the manifest names a file, the file must match it: sha256 (fetch), data rows and
 * control totals (validate).
 */
export const manifestHeader = ['FICHIER', 'NB_LIGNES', 'SHA256', 'TOTAUX_CONTROLE'] as const;

/** What the manifest announces for one export file. */
export interface ManifestEntry {
  /** The manifest's own file name, for messages. */
  manifestFile: string;
  rows: number;
  sha256: string;
  /** Announced totals by warehouse column name, as decimal text at the column's scale (`1234.50`). */
  controlTotals: Record<string, string>;
}

/** The manifest's file name for a business date. */
export const manifestFileName = (businessDate: string) => `MANIFEST_${businessDate.replaceAll('-', '')}.csv`;

/** A manifest lists one short row per table: anything larger is not one, and is not read into memory. */
export const maxManifestBytes = 1024 * 1024;

/**
 * The manifest's entry for `fileName`, or undefined when there is no manifest or it does
 * not list the file. The manifest is read like an export: a regular file inside the inbox
 * (NotARegularFile otherwise), through one descriptor, at most `maxManifestBytes`.
 */
export async function manifestEntryFor(input: { inbox: string; businessDate: string; contract: TableContract; fileName: string; dialect: Dialect }): Promise<ManifestEntry | undefined> {
  const manifestFile = manifestFileName(input.businessDate);
  const where = { table: input.contract.table, businessDate: input.businessDate, file: manifestFile };
  const opened = await openInInbox(input.inbox, manifestFile, where);
  if (!opened) return undefined;
  let bytes: Buffer;
  try {
    if (opened.stats.size > maxManifestBytes) {
      throw etlFailure('ManifestMismatch', `the manifest is ${opened.stats.size} bytes, more than the ${maxManifestBytes} bytes a manifest may have`, { ...where, value: String(opened.stats.size), rule: 'manifest size' });
    }
    bytes = await opened.handle.readFile();
  } finally {
    await opened.handle.close();
  }
  const text = iconv.decode(bytes, input.dialect.encoding === 'windows-1252' ? 'win1252' : 'utf8');
  let records: string[][];
  try {
    records = parse(text, { delimiter: input.dialect.delimiter, quote: input.dialect.quote, relax_column_count: false, skip_empty_lines: true, max_record_size: 64 * 1024 });
  } catch (error) {
    throw etlFailure('ManifestMismatch', `the manifest cannot be parsed: ${(error as Error).message}`, { ...where, rule: 'manifest format' });
  }
  const [header, ...rows] = records;
  if (header?.join(';') !== manifestHeader.join(';')) {
    throw etlFailure('ManifestMismatch', `the manifest header must be ${manifestHeader.join(';')}`, { ...where, line: 1, value: header?.join(';') ?? '', rule: 'manifest format' });
  }
  const index = rows.findIndex((r) => r[0] === input.fileName);
  if (index < 0) return undefined;
  const [, rowsText = '', sha256 = '', totalsText = ''] = rows[index]!;
  const line = index + 2;
  if (!/^\d+$/.test(rowsText)) throw etlFailure('ManifestMismatch', 'NB_LIGNES is not a whole number', { ...where, line, column: 'NB_LIGNES', value: rowsText, rule: 'manifest format' });
  if (!/^[0-9a-f]{64}$/i.test(sha256)) throw etlFailure('ManifestMismatch', 'SHA256 is not 64 hexadecimal digits', { ...where, line, column: 'SHA256', value: sha256, rule: 'manifest format' });
  return { manifestFile, rows: Number(rowsText), sha256: sha256.toLowerCase(), controlTotals: parseTotals(totalsText, input.contract, { ...where, line }) };
}

function parseTotals(text: string, contract: TableContract, where: { table: string; businessDate: string; file: string; line: number }): Record<string, string> {
  const totals: Record<string, string> = {};
  for (const pair of text.split('|').filter((p) => p.trim() !== '')) {
    const [source = '', value = ''] = pair.split('=').map((s) => s.trim());
    const column = contract.columns.find((c) => c.source === source);
    if (!column || !contract.controlTotals.includes(column.name)) {
      throw etlFailure('ManifestMismatch', `TOTAUX_CONTROLE names ${source}, which is not a control-total column of ${contract.table} (${contract.controlTotals.join(', ') || 'none'})`, { ...where, column: 'TOTAUX_CONTROLE', value: pair, rule: 'manifest format' });
    }
    const scale = column.type.kind === 'decimal' ? column.type.scale : 0;
    const parsed = parseDecimal(value, { scale });
    if (!parsed.ok) throw etlFailure('ManifestMismatch', `the total of ${source} is not a number: ${parsed.rule}`, { ...where, column: 'TOTAUX_CONTROLE', value: pair, rule: 'manifest format' });
    totals[column.name] = decimalText(parsed.value);
  }
  return totals;
}
