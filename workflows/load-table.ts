import { ApplicationFailure, log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { FetchedExport } from '../activities/fetch.ts';
import { fetchActivity, longActivity, shortActivity } from './activity-profiles.ts';
import { describeFailure } from './failures.ts';

const { fetchExport } = proxyActivities<Activities>(fetchActivity);
const { validateExport, stageExport, publishLoad, verifyLoad } = proxyActivities<Activities>(longActivity);
const { revertLoad, recordLoadFailure, quarantineExport } = proxyActivities<Activities>(shortActivity);

/** One table's export for one business date, within a nightly run. */
export interface LoadTableInput {
  table: string;
  businessDate: string;
  runId: string;
}

/** What happened to the table: loaded (with counts) or unchanged (this exact file is already loaded). */
export interface LoadTableResult {
  table: string;
  businessDate: string;
  status: 'loaded' | 'unchanged';
  loadId: string;
  fileName: string;
  rowsRead: number;
  rowsRejected: number;
  versionsInserted: number;
  versionsClosed: number;
  tombstones: number;
}

/**
 * fetch → validate → stage → publish → verify for one table. Once publish may have
 * written, a failure compensates by revert-by-load, so the previous day stays
 * authoritative; the failure is recorded and rethrown with its stable type.
 */
export async function loadTable(input: LoadTableInput): Promise<LoadTableResult> {
  const { table, businessDate, runId } = input;
  const compensations: (() => Promise<void>)[] = [];
  let fetched: FetchedExport | undefined;
  try {
    fetched = await fetchExport({ table, businessDate });
    const base = { table, businessDate, loadId: fetched.loadId, fileName: fetched.fileName };
    if (fetched.alreadyLoaded) {
      return { ...base, status: 'unchanged', rowsRead: 0, rowsRejected: 0, versionsInserted: 0, versionsClosed: 0, tombstones: 0 };
    }
    const validated = await validateExport({ table, businessDate, runId, fetched });
    const load = { table, businessDate, loadId: fetched.loadId, fileName: fetched.fileName };
    const staged = await stageExport({ ...load, archivePath: fetched.archivePath });
    compensations.unshift(() => revertLoad({ table, loadId: load.loadId })); // publish may half-apply: revert covers it
    const published = await publishLoad(load);
    await verifyLoad({ ...load, validated, staged, published });
    return { ...base, status: 'loaded', rowsRead: validated.rowsRead, rowsRejected: validated.rowsRejected, ...published };
  } catch (error) {
    const failure = describeFailure(error);
    log.warn('table load failed', { table, businessDate, ...failure });
    for (const compensate of compensations) await compensate();
    await recordLoadFailure({
      runId,
      table,
      businessDate,
      loadId: fetched?.loadId,
      fileName: fetched?.fileName,
      sha256: fetched?.sha256,
      errorType: failure.type,
      errorDetail: failure.message,
      reverted: compensations.length > 0,
    });
    const quarantined = await quarantineExport({
      table,
      businessDate,
      workflowId: workflowInfo().workflowId,
      errorType: failure.type,
      message: failure.message,
      details: failure.details,
      ...(fetched ? { fetched: { loadId: fetched.loadId, fileName: fetched.fileName, archivePath: fetched.archivePath, sha256: fetched.sha256 } } : {}),
    });
    throw ApplicationFailure.create({ type: failure.type, message: `${failure.message} (quarantined in ${quarantined.dir})`, nonRetryable: true, details: [failure.details ?? null] });
  }
}
