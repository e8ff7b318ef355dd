import type { TableContract } from './types.ts';

/**
 * Sodiwin's historical dump, as handed over once before the nightly exports take over:
 * several files per table (`COMMANDES_20251231_P001.csv`, …) in the export dialect, and a
 * manifest `MANIFEST_DUMP_<yyyymmdd>.csv` listing every file with its table, data rows,
 * sha256 and the as-of date (DATE_ARRETE, `dd/mm/yyyy`) of the whole dump. FICHIER is a plain
 * file name: every file lies directly in the dump directory, as a regular file (no link).
 */
export const dumpManifestHeader = ['FICHIER', 'TABLE', 'NB_LIGNES', 'SHA256', 'DATE_ARRETE'] as const;

/** The manifest of a dump as of a date. */
export const dumpManifestName = (asOf: string) => `MANIFEST_DUMP_${asOf.replaceAll('-', '')}.csv`;

/** Recognises a dump manifest's file name (the as-of date as yyyymmdd in group 1). */
export const dumpManifestPattern = /^MANIFEST_DUMP_(\d{8})\.csv$/;

/** A dump file's name: the table's nightly pattern, with the as-of date and a part number. */
export function dumpFileName(contract: TableContract, asOf: string, part: number): string {
  return contract.filePattern.replace('{yyyymmdd}', `${asOf.replaceAll('-', '')}_P${String(part).padStart(3, '0')}`);
}
