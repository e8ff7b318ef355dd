import { join } from 'node:path';

/** The NAS folders: Sodiwin's inbox (read-only to us), the archive (never deleted) and quarantine. */
export interface NasLayout {
  inbox: string;
  archive: string;
  quarantine: string;
  reports: string;
}

/** The layout under one root, as in `var/nas` or the NAS mount. */
export function nasLayout(root: string): NasLayout {
  return { inbox: join(root, 'inbox'), archive: join(root, 'archive'), quarantine: join(root, 'quarantine'), reports: join(root, 'reports') };
}

/** Where an export is archived: `archive/<date>/<table>.<sha256>.csv`. */
export function archivePathFor(nas: NasLayout, businessDate: string, table: string, sha256: string): string {
  return join(nas.archive, businessDate, `${table}.${sha256}.csv`);
}

/** The load id of one file for one table and date: deterministic, so a retried or replayed load keeps its id. */
export function loadIdFor(businessDate: string, table: string, sha256: string): string {
  return `${businessDate}_${table}_${sha256.slice(0, 12)}`;
}

/** The load id recorded for a table's night when there was no file to fetch (missing, or still growing at the deadline). */
export function unfetchedLoadId(businessDate: string, table: string): string {
  return `${businessDate}_${table}_unfetched`;
}

/** Where a historical dump is archived once validated: `archive/dump-<as-of>/`, its files and manifest as Sodiwin named them. */
export function archivedDumpDir(nas: NasLayout, asOf: string): string {
  return join(nas.archive, `dump-${asOf}`);
}
