import { createHash } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readlink, realpath, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { log } from '@temporalio/activity';
import type { ApplicationFailure } from '@temporalio/common';
import { capText, etlFailure, fullDetailOf, type EtlErrorDetails } from '../common/errors.ts';

/** The NAS folders: Sodiwin's inbox (read-only to us), the archive (never deleted), quarantine, reports, and the loads' work files. */
export interface NasLayout {
  inbox: string;
  archive: string;
  quarantine: string;
  reports: string;
  /** Rows validation parsed for stage (stage-spool.ts); safe to delete, stage then parses the archived file. */
  spool: string;
  /** Each full snapshot's record fingerprints, keys and row hashes (key-index.ts); safe to delete, the next load then sends the whole file. */
  keys: string;
}

/** The layout under one root, as in `var/nas` or the NAS mount. */
export function nasLayout(root: string): NasLayout {
  return { inbox: join(root, 'inbox'), archive: join(root, 'archive'), quarantine: join(root, 'quarantine'), reports: join(root, 'reports'), spool: join(root, 'spool'), keys: join(root, 'keys') };
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

/** A file opened for reading after checking that it is a regular file: read everything through `handle`, never by name again. */
export interface OpenedFile {
  handle: FileHandle;
  stats: Stats;
}

/**
 * Opens `path` without following a symbolic link (O_NOFOLLOW) and without blocking on a
 * FIFO or a device (O_NONBLOCK), then fstats the descriptor: a regular file is returned
 * open, anything else is closed and described ("a FIFO (named pipe)", "a symbolic link
 * to /etc/x (not followed)", …). A missing file rejects with ENOENT as usual.
 */
export async function openRegularFile(path: string): Promise<OpenedFile | { notRegular: string }> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    // ELOOP: a symbolic link refused by O_NOFOLLOW; ENXIO: a socket; EISDIR, EACCES and the like: say what is there.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw error;
    const kind = await entryKind(path).catch(() => undefined);
    if (kind) return { notRegular: kind };
    throw error;
  }
  const stats = await handle.stat();
  if (stats.isFile()) return { handle, stats };
  await handle.close();
  return { notRegular: kindOf(stats) };
}

/** What is at `path` when it is not a regular file (without following a link), or undefined for a regular file. */
export async function entryKind(path: string): Promise<string | undefined> {
  const stats = await lstat(path);
  if (stats.isSymbolicLink()) return `a symbolic link to ${capText(await readlink(path).catch(() => '?'))} (not followed)`;
  return stats.isFile() ? undefined : kindOf(stats);
}

function kindOf(stats: Stats): string {
  if (stats.isSymbolicLink()) return 'a symbolic link (not followed)';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isCharacterDevice()) return 'a character device';
  return 'not a regular file';
}

/**
 * Opens `name` in the inbox as a regular file that really is inside the inbox: no link
 * is followed at the last step, the folder it is in must resolve to the inbox (or under
 * it), on Linux the descriptor's own path is checked too, and a file with more than one
 * hard link is refused (another of its names may be outside the inbox: a hard link to a
 * secret passes every other check). Otherwise: NotARegularFile, naming the table, the date,
 * the path and what it is. Undefined when there is no such file.
 */
export async function openInInbox(inbox: string, name: string, where: EtlErrorDetails): Promise<OpenedFile | undefined> {
  return openInside(inbox, name, where, 'the inbox');
}

/**
 * `openInInbox` for any folder we are handed files in (`place` names it in messages, e.g.
 * "the dump directory"): the same checks, on the descriptor that is then read.
 */
export async function openInside(root: string, name: string, where: EtlErrorDetails, place: string): Promise<OpenedFile | undefined> {
  const path = join(root, name);
  const refuse = (what: string) => etlFailure('NotARegularFile', `${path} is ${what}; only a regular file inside ${place} is read`, { ...where, rule: `a regular file inside ${place}` });
  const realRoot = await realpath(root);
  const realFolder = await realpath(dirname(path)).catch(() => undefined);
  if (realFolder === undefined) return undefined;
  if (!isInside(realRoot, realFolder)) throw refuse(`in a folder that resolves to ${realFolder}, outside ${place} ${realRoot}`);
  const opened = await openRegularFile(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!opened) return undefined;
  if ('notRegular' in opened) throw refuse(opened.notRegular);
  const fdPath = process.platform === 'linux' ? await readlink(`/proc/self/fd/${opened.handle.fd}`).catch(() => undefined) : undefined;
  if (fdPath !== undefined && !isInside(realRoot, dirname(fdPath))) {
    await opened.handle.close();
    throw refuse(`a file that resolves to ${fdPath}, outside ${place} ${realRoot}`);
  }
  if (opened.stats.nlink > 1) {
    await opened.handle.close();
    throw refuse(`a regular file with ${opened.stats.nlink} hard links (another of its names may be a file outside ${place}, so nothing of it was read)`);
  }
  return opened;
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Where the uncapped detail of a failure is kept until quarantine copies it into reason.json. */
export function failureDetailPathFor(nas: NasLayout, businessDate: string, table: string, message: string): string {
  return join(nas.reports, businessDate, `${table}.failure-${createHash('sha256').update(message).digest('hex').slice(0, 12)}.json`);
}

/**
 * Runs an activity's work; when it fails with a data error whose message or details had to
 * be capped for the history, the full detail is written under `reports/` and the capped
 * failure points to it (`fullDetailFile`), so reason.json can still hold all of it.
 */
export async function keepingFullDetail<T>(nas: NasLayout, where: { table: string; businessDate: string }, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const full = fullDetailOf(error);
    const capped = (error as ApplicationFailure).details?.[0] as EtlErrorDetails | undefined;
    if (full && capped && typeof capped === 'object') {
      const path = failureDetailPathFor(nas, where.businessDate, where.table, full.message);
      try {
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, JSON.stringify(full));
        capped.fullDetailFile = path;
      } catch (writeError) {
        log.warn('the full failure detail could not be kept', { ...where, path, error: String(writeError) });
      }
    }
    throw error;
  }
}
