import { readdir } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import type { ApplicationFailure } from '@temporalio/common';
import { etlFailure, type EtlErrorDetails } from '../common/errors.ts';
import { dumpManifestHeader, dumpManifestPattern } from '../contracts/dump.ts';
import { tableContracts } from '../contracts/index.ts';
import type { Dialect } from '../contracts/types.ts';
import { parseFrenchDate } from '../contracts/values.ts';
import { openInside, type OpenedFile } from './nas.ts';

/** How the dump directory is named in messages. */
const dumpPlace = 'the dump directory';

/** The largest dump manifest read, in bytes: a line of about 120 bytes per file, for thousands of files. */
export const maxDumpManifestBytes = 1024 * 1024;

/** One file of the dump, as its manifest announces it. */
export interface DumpPart {
  table: string;
  file: string;
  rows: number;
  sha256: string;
}

/** What a dump holds: its as-of date and its files, in manifest order grouped by table (contract order). */
export interface DumpPlan {
  dumpDir: string;
  manifestFile: string;
  asOf: string;
  parts: DumpPart[];
  rowsTotal: number;
}

/**
 * Reads the one `MANIFEST_DUMP_<yyyymmdd>.csv` of a dump directory: every file it lists must
 * be a plain name directly in the directory, exist there as a regular file (opened as the
 * inbox's exports are: `openDumpFile`), name a known table, announce a whole row count and a
 * sha256, and share the as-of date of the manifest's name. Parts come back in contract order
 * (reference tables first), then in manifest order. A problem is a non-retryable
 * ManifestMismatch, UnknownTable, NotARegularFile or ExportMissing that names the manifest,
 * its line, column and value, or the dump file.
 */
export async function readDumpManifest(dumpDir: string, dialect: Dialect): Promise<DumpPlan> {
  const names = await readdir(dumpDir).catch((error: NodeJS.ErrnoException) => {
    throw etlFailure('ExportMissing', `the dump directory ${dumpDir} cannot be read (${error.code ?? error.message})`, { table: 'dump', businessDate: 'unknown', file: dumpDir });
  });
  const manifests = names.filter((n) => dumpManifestPattern.test(n)).sort();
  if (manifests.length !== 1) {
    const problem = manifests.length === 0 ? `no MANIFEST_DUMP_<yyyymmdd>.csv in ${dumpDir}` : `${manifests.length} dump manifests in ${dumpDir} (${manifests.join(', ')}); a dump has exactly one`;
    throw etlFailure('ExportMissing', problem, { table: 'dump', businessDate: 'unknown', file: dumpDir });
  }
  const manifestFile = manifests[0]!;
  const compact = dumpManifestPattern.exec(manifestFile)![1]!;
  const asOf = `${compact.slice(0, 4)}-${compact.slice(4, 6)}-${compact.slice(6, 8)}`;
  const where: EtlErrorDetails = { table: 'dump', businessDate: asOf, file: manifestFile };
  const fail = (problem: string, details: Partial<EtlErrorDetails>) => etlFailure('ManifestMismatch', problem, { ...where, rule: 'dump manifest format', ...details });

  const text = iconv.decode(await readManifestBytes(dumpDir, manifestFile, where), dialect.encoding === 'windows-1252' ? 'win1252' : 'utf8');
  let records: string[][];
  try {
    records = parse(text, { delimiter: dialect.delimiter, quote: dialect.quote, skip_empty_lines: true });
  } catch (error) {
    throw fail(`the manifest cannot be parsed: ${(error as Error).message}`, {});
  }
  const [header, ...rows] = records;
  if (header?.join(';') !== dumpManifestHeader.join(';')) throw fail(`the header must be ${dumpManifestHeader.join(';')}`, { line: 1, value: header?.join(';') ?? '' });
  if (rows.length === 0) throw fail('the manifest lists no files', { line: 2 });

  const parts: (DumpPart & { order: number })[] = [];
  const seen = new Set<string>();
  for (const [index, [file = '', table = '', rowsText = '', sha256 = '', asOfText = ''] = []] of rows.entries()) {
    const line = index + 2;
    const order = tableContracts.findIndex((c) => c.table === table);
    if (order < 0) throw etlFailure('UnknownTable', `TABLE names ${table}, which is not a table of the contract (${tableContracts.map((c) => c.table).join(', ')})`, { ...where, line, column: 'TABLE', value: table });
    if (!/^\d+$/.test(rowsText)) throw fail('NB_LIGNES is not a whole number', { line, column: 'NB_LIGNES', value: rowsText });
    if (!/^[0-9a-f]{64}$/i.test(sha256)) throw fail('SHA256 is not 64 hexadecimal digits', { line, column: 'SHA256', value: sha256 });
    const date = parseFrenchDate(asOfText);
    if (!date.ok || date.value !== asOf) throw fail(`DATE_ARRETE must be the as-of date of the manifest's name (${asOf})`, { line, column: 'DATE_ARRETE', value: asOfText });
    if (!isPlainName(file)) {
      throw etlFailure('NotARegularFile', `FICHIER is not a plain file name: a folder, "..", or an absolute path may point outside ${dumpPlace} ${dumpDir}, and only files directly inside it are read (nothing was read)`, {
        ...where,
        line,
        column: 'FICHIER',
        value: file,
        rule: `a regular file inside ${dumpPlace}`,
      });
    }
    if (seen.has(file)) throw fail('FICHIER must be listed once', { line, column: 'FICHIER', value: file });
    seen.add(file);
    const opened = await openDumpFile(dumpDir, file, { table, businessDate: asOf, file }).catch((error: unknown) => {
      throw (error as ApplicationFailure).type === 'ExportMissing' ? etlFailure('ExportMissing', `the manifest lists ${file}, which is not in ${dumpDir}`, { ...where, line, column: 'FICHIER', value: file }) : error;
    });
    await opened.handle.close();
    parts.push({ table, file, rows: Number(rowsText), sha256: sha256.toLowerCase(), order });
  }
  const ordered = parts.map((p, index) => ({ p, index })).sort((a, b) => a.p.order - b.p.order || a.index - b.index).map(({ p: { order: _order, ...part } }) => part);
  return { dumpDir, manifestFile, asOf, parts: ordered, rowsTotal: ordered.reduce((sum, p) => sum + p.rows, 0) };
}

/**
 * Opens a file of the dump by the name its manifest gives, with the inbox's discipline
 * (`openInside`): a plain name, no link followed, the file's folder resolving to the dump
 * directory, a regular file with a single link. Read everything through the handle it gives
 * (hash, scan, copy). Refused: NotARegularFile naming the path and what it is; absent: ExportMissing.
 */
export async function openDumpFile(dumpDir: string, file: string, where: EtlErrorDetails): Promise<OpenedFile> {
  if (!isPlainName(file)) throw etlFailure('NotARegularFile', `${JSON.stringify(file)} is not a plain file name; only a regular file directly inside ${dumpPlace} ${dumpDir} is read`, { ...where, rule: `a regular file inside ${dumpPlace}` });
  const opened = await openInside(dumpDir, file, where, dumpPlace);
  if (!opened) throw etlFailure('ExportMissing', `${file} is not in ${dumpDir}`, { ...where, rule: 'every file of the dump manifest' });
  return opened;
}

/** True for a file name with no folder in it: not empty, not `.` or `..`, no separator, not absolute, no NUL byte. */
function isPlainName(file: string): boolean {
  return file !== '' && file !== '.' && file !== '..' && !isAbsolute(file) && !/[/\\\u0000]/.test(file);
}

/** The manifest's bytes, read through a checked descriptor and at most `maxDumpManifestBytes`. */
async function readManifestBytes(dumpDir: string, manifestFile: string, where: EtlErrorDetails): Promise<Buffer> {
  const opened = await openDumpFile(dumpDir, manifestFile, where);
  try {
    if (opened.stats.size > maxDumpManifestBytes) {
      throw etlFailure('ManifestMismatch', `the manifest is ${opened.stats.size} bytes, more than the ${maxDumpManifestBytes} a dump manifest may have (it was not read)`, { ...where, rule: `at most ${maxDumpManifestBytes} bytes` });
    }
    return await opened.handle.readFile();
  } finally {
    await opened.handle.close();
  }
}
