import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, rename, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import { log } from '@temporalio/activity';
import { whileHeartbeating } from './keep-alive.ts';
import { activityCancellation, cancellationOr, sleepUnlessCancelled } from '../d1/cancellation.ts';
import { etlFailure } from '../common/errors.ts';
import { exportDeadline, operatorTime } from '../common/zoned-time.ts';
import { contractFor } from '../contracts/index.ts';
import { exportFileName, type Dialect } from '../contracts/types.ts';
import type { D1Client } from '../d1/client.ts';
import { createControlStore } from './control-store.ts';
import { manifestEntryFor, type ManifestEntry } from './manifest.ts';
import { archivePathFor, entryKind, loadIdFor, openInInbox, openRegularFile, type NasLayout } from './nas.ts';

/** What fetching needs. */
export interface FetchDeps {
  d1: Pick<D1Client, 'query' | 'batch' | 'first'>;
  nas: NasLayout;
  /** A file must keep the same size this long before it is taken (Sodiwin may still be writing it). */
  stableForMs: number;
  /** Until when a night's export may still arrive or grow: the day after the business date at this local time. */
  exportDeadline: { timeOfDay: string; timeZone: string };
  /** How often to look again for a file that has not arrived yet. */
  pollMs: number;
  dialect: Dialect;
}

/** Which export to fetch. */
export interface FetchInput {
  table: string;
  businessDate: string;
}

/** The archived export, or the news that this exact file is already loaded. */
export interface FetchedExport {
  fileName: string;
  archivePath: string;
  sha256: string;
  bytes: number;
  loadId: string;
  /** True when a load of this same file (same sha256) for this date is already verified: nothing to do. */
  alreadyLoaded: boolean;
  /**
   * For a file already loaded: the run that verified it and what it counted and wrote (etl_loads). A
   * load whose local steps ran again after a worker died finds its own run here (load-table.ts).
   */
  verified?: VerifiedLoad;
  /** What Sodiwin's manifest announces for the file, when there is one (validate checks rows and totals). */
  manifest?: ManifestEntry;
}

/**
 * fetch: find the table's file for the date in the inbox and wait until it is complete
 * (its size stable), at most until the export deadline; archive it by checksum, with
 * what the night's manifest announces for it, if Sodiwin wrote one (validate checks it).
 */
export const createFetchActivities = (deps: FetchDeps) => ({
  fetchExport(input: FetchInput): Promise<FetchedExport> {
    return fetchWhenComplete(deps, input, 'wait');
  },

  /**
   * fetch without waiting (a night's first try, as a local activity): a file that is there and
   * complete is archived as fetchExport archives it; one not there yet or still being written
   * answers `notReady`, and the load waits for it in fetchExport. Refusals are fetchExport's.
   */
  fetchReadyExport(input: FetchInput): Promise<FetchedExport | NotReadyExport> {
    return fetchWhenComplete(deps, input, 'once');
  },

  /** The archived file as a fetched export: its checksum is computed again, so a damaged archive cannot pass for the file once loaded. */
  archivedExport(input: ArchivedExportInput): Promise<FetchedExport> {
    return whileHeartbeating(async () => {
      const details = { table: input.table, businessDate: input.businessDate, file: input.fileName };
      const opened = await openRegularFile(input.archivePath).catch(() => undefined);
      if (!opened) throw etlFailure('ExportMissing', `the archived file ${input.archivePath} is gone`, { ...details, rule: 'archive' });
      if ('notRegular' in opened) throw etlFailure('NotARegularFile', `the archived file ${input.archivePath} is ${opened.notRegular}`, { ...details, rule: 'a regular file in the archive' });
      const sha256 = await sha256OfHandle(opened.handle).finally(() => opened.handle.close());
      const loadId = loadIdFor(input.businessDate, input.table, sha256);
      return { fileName: input.fileName, archivePath: input.archivePath, sha256, bytes: opened.stats.size, loadId, ...(await verifiedLoadOf(deps.d1, loadId)) };
    });
  },
});

/** A verified load of the file, as etl_loads records it. */
export interface VerifiedLoad {
  runId: string;
  rowsRead: number;
  rowsRejected: number;
  versionsInserted: number;
  versionsClosed: number;
  tombstones: number;
}

/** The file's load, if it is verified: whether it is, and by which run with what counts. */
async function verifiedLoadOf(d1: FetchDeps['d1'], loadId: string): Promise<Pick<FetchedExport, 'alreadyLoaded' | 'verified'>> {
  const record = await createControlStore(d1).loads.verified(loadId);
  if (!record) return { alreadyLoaded: false };
  return {
    alreadyLoaded: true,
    verified: {
      runId: record.run_id,
      rowsRead: record.rows_read ?? 0,
      rowsRejected: record.rows_rejected ?? 0,
      versionsInserted: record.versions_inserted ?? 0,
      versionsClosed: record.versions_closed ?? 0,
      tombstones: record.tombstones ?? 0,
    },
  };
}

/** A file's first look found it not there yet, or still being written: the load waits for it in fetchExport. */
export interface NotReadyExport {
  notReady: string;
}

/** fetchExport's work; `once`: look once and answer `notReady` instead of waiting. */
function fetchWhenComplete(deps: FetchDeps, input: FetchInput, mode: 'wait'): Promise<FetchedExport>;
function fetchWhenComplete(deps: FetchDeps, input: FetchInput, mode: 'once'): Promise<FetchedExport | NotReadyExport>;
function fetchWhenComplete(deps: FetchDeps, input: FetchInput, mode: 'wait' | 'once'): Promise<FetchedExport | NotReadyExport> {
  const contract = contractFor(input.table);
  const fileName = exportFileName(contract, input.businessDate);
  const deadline = exportDeadline(input.businessDate, deps.exportDeadline.timeOfDay, deps.exportDeadline.timeZone);
  const until = operatorTime(deadline, deps.exportDeadline.timeZone);
  /**
   * What each heartbeat says (the Web UI shows the last one of a pending fetch): what it waits
   * for, until when. Set before the first beat: the SDK sends later ones at most every 24 s.
   */
  let beat: FetchHeartbeat = { status: `looking for ${fileName} in ${deps.nas.inbox} (until ${until})`, file: fileName, inbox: deps.nas.inbox, until };
  // A failure's full detail is kept for reason.json by recordingFailures (activities/index.ts).
  return whileHeartbeating(async () => {
    const source = join(deps.nas.inbox, fileName);
    const details = { table: input.table, businessDate: input.businessDate, file: fileName };

    const arrival = await waitForCompleteFile(source, deadline, deps, mode, (seen) => {
      beat = { status: `waiting for ${fileName} in ${deps.nas.inbox} until ${until}: ${seen}`, file: fileName, inbox: deps.nas.inbox, until };
    });
    if (arrival.state === 'not-yet') return { notReady: arrival.seen };
    beat = { status: `archiving ${fileName}`, file: fileName, inbox: deps.nas.inbox, until };
    if (arrival.state === 'missing') {
      throw etlFailure('ExportMissing', `no export file ${fileName} in ${deps.nas.inbox} at the deadline (${operatorTime(deadline, deps.exportDeadline.timeZone)})`, { ...details, rule: 'export deadline' });
    }
    if (arrival.state === 'not-regular') {
      throw etlFailure('NotARegularFile', `${source} is ${arrival.kind}; only a regular file inside the inbox is read`, { ...details, rule: 'a regular file inside the inbox' });
    }
    if (arrival.state === 'growing') {
      throw etlFailure('ExportIncomplete', `the file was still being written at the deadline (${operatorTime(deadline, deps.exportDeadline.timeZone)}): ${arrival.from} bytes, then ${arrival.to} bytes ${deps.stableForMs} ms later`, {
        ...details,
        value: String(arrival.to),
        rule: 'size stable before the deadline',
      });
    }

    // From here the file is read through one descriptor, opened without following links: what is hashed is what is archived.
    const opened = await openInInbox(deps.nas.inbox, fileName, details);
    if (!opened) throw etlFailure('ExportMissing', `the export file ${fileName} vanished from ${deps.nas.inbox} while it was being fetched`, { ...details, rule: 'export deadline' });
    const { handle } = opened;
    try {
      const bytes = opened.stats.size;
      const sha256 = await sha256OfHandle(handle);
      const manifest = await manifestEntryFor({ inbox: deps.nas.inbox, businessDate: input.businessDate, contract, fileName, dialect: deps.dialect });
      const archivePath = archivePathFor(deps.nas, input.businessDate, input.table, sha256);
      if ((await lstat(archivePath).catch(() => undefined))?.size !== bytes) {
        await mkdir(dirname(archivePath), { recursive: true });
        const partial = `${archivePath}.partial`;
        if ((await copyHandleTo(handle, partial)) !== sha256) throw etlFailure('ExportIncomplete', 'the file changed while it was being archived', details);
        await rename(partial, archivePath);
      }

      const loadId = loadIdFor(input.businessDate, input.table, sha256);
      const loaded = await verifiedLoadOf(deps.d1, loadId);
      log.info('export fetched', { table: input.table, businessDate: input.businessDate, fileName, bytes, sha256, alreadyLoaded: loaded.alreadyLoaded });
      return { fileName, archivePath, sha256, bytes, loadId, ...loaded, ...(manifest ? { manifest } : {}) };
    } finally {
      await handle.close();
    }
  }, () => beat);
}

/** A fetch's heartbeat: one line for the Web UI (`status`), and its parts. */
export interface FetchHeartbeat {
  status: string;
  file: string;
  inbox: string;
  /** The export deadline in WAREHOUSE_TIMEZONE, `2026-03-06 06:00 Europe/Paris`. */
  until: string;
}

/** An export already in the archive, to load again (rebuild): the file is taken as archived, no inbox, no manifest. */
export interface ArchivedExportInput {
  table: string;
  businessDate: string;
  fileName: string;
  archivePath: string;
}

/** A file that is there and complete, still growing at the deadline, not there at the deadline, or not a regular file at all. */
type Arrival = { state: 'complete'; bytes: number } | { state: 'growing'; from: number; to: number } | { state: 'missing' } | { state: 'not-regular'; kind: string } | { state: 'not-yet'; seen: string };

/**
 * Waits for the file to exist and keep the same size for `stableForMs`. Before the
 * deadline it keeps waiting (Sodiwin may be late or still writing); once the deadline
 * has passed, a file that is absent or still growing is reported as such. Links are not
 * followed (lstat): a link, FIFO, directory, socket or device is refused at once, not waited on.
 * Each wait ends early when the activity is cancelled (a worker shutting down): it throws the
 * CancelledFailure, and the retry on the next worker simply looks again. `once`: a file not there
 * yet, or whose size changed, is `not-yet` instead of waited for (the stability wait still runs).
 */
async function waitForCompleteFile(path: string, deadline: Date, deps: Pick<FetchDeps, 'stableForMs' | 'pollMs'>, mode: 'wait' | 'once', onWait: (seen: string) => void): Promise<Arrival> {
  const sizeOf = async () => (await lstat(path).catch(() => undefined))?.size;
  const sleep = (ms: number) => sleepUnlessCancelled(ms, activityCancellation());
  for (;;) {
    const kind = await entryKind(path).catch(() => undefined);
    if (kind) return { state: 'not-regular', kind };
    const size = await sizeOf();
    if (size === undefined) {
      if (Date.now() >= deadline.getTime()) return { state: 'missing' };
      if (mode === 'once') return { state: 'not-yet', seen: 'not there yet' };
      onWait('not there yet');
      await sleep(Math.min(deps.pollMs, deadline.getTime() - Date.now()));
      continue;
    }
    onWait(`${size} bytes so far, taken once its size stays the same for ${deps.stableForMs} ms`);
    await sleep(deps.stableForMs);
    const later = await sizeOf();
    if (later === size) return { state: 'complete', bytes: size };
    if (Date.now() >= deadline.getTime()) return later === undefined ? { state: 'missing' } : { state: 'growing', from: size, to: later };
    if (mode === 'once') return { state: 'not-yet', seen: later === undefined ? 'there, then gone' : `still being written (${size} bytes, then ${later})` };
  }
}

/** The sha256 of a regular file's bytes, in hex (streamed); a link is not followed and anything but a regular file is refused. */
export async function sha256Of(path: string): Promise<string> {
  const opened = await openRegularFile(path);
  if ('notRegular' in opened) throw new Error(`${path} is ${opened.notRegular}, not a regular file`);
  return sha256OfHandle(opened.handle).finally(() => opened.handle.close());
}

/** The sha256 of an open file from its first byte, in hex; the descriptor stays open. */
export async function sha256OfHandle(handle: FileHandle): Promise<string> {
  const hash = createHash('sha256');
  const signal = activityCancellation();
  await pipeline(handle.createReadStream({ start: 0, autoClose: false }), hash, signal ? { signal } : {}).catch((error: unknown) => cancellationOr(error, signal));
  return hash.digest('hex');
}

/** Copies an open file from its first byte to `target` (created or truncated, never through a link) and returns the sha256 of what was copied. */
export async function copyHandleTo(handle: FileHandle, target: string): Promise<string> {
  const hash = createHash('sha256');
  const out = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
  const tap = new PassThrough();
  tap.on('data', (chunk: Buffer) => hash.update(chunk));
  const signal = activityCancellation();
  await pipeline(handle.createReadStream({ start: 0, autoClose: false }), tap, out.createWriteStream(), signal ? { signal } : {}).catch((error: unknown) => cancellationOr(error, signal));
  return hash.digest('hex');
}
