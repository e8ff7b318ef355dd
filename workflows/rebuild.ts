import { continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { shortActivity } from './activity-profiles.ts';
import { markEtlAttributes, type EtlAttributes } from './etl-search-attributes.ts';
import { describeFailure } from './failures.ts';
import { replayLoads } from './replay-loads.ts';

const { beginRun } = proxyActivities<Activities>(shortActivity);

/** One archived load to replay. */
export interface RebuildLoad {
  table: string;
  businessDate: string;
  fileName: string;
  archivePath: string;
}

/** The archive's loads to replay into an empty warehouse, in date order. */
export interface RebuildInput {
  loads: RebuildLoad[];
  /** Carried over continue-as-new: what earlier runs of this workflow replayed. */
  replayed?: number;
  failures?: { table: string; businessDate: string; errorType: string; message: string }[];
  /** Business dates one run replays before it continues as new (default 30). */
  datesPerRun?: number;
  /** Carried over continue-as-new: runs of the workflow so far. */
  runs?: number;
}

/** What the rebuild replayed, and what failed. */
export interface RebuildResult {
  replayed: number;
  failures: { table: string; businessDate: string; errorType: string; message: string }[];
  /** Runs of the workflow (1 + continue-as-new count). */
  runs: number;
  /** Loads not replayed because an earlier one failed (fail-fast); absent when every load was tried. */
  notReplayed?: number;
}

/** Business dates one run of the workflow replays before it continues as new (bounded history). */
const defaultDatesPerRun = 30;

/**
 * Rebuild from the archive: replays every archived load, date by date (tables of a date
 * four at a time), through the same loadTable as the nightly run, into the warehouse this
 * worker writes to (a scratch one). History is a pure function of the ordered files, so a
 * faithful warehouse and its rebuild have the same checksums. Nothing is quarantined and
 * no incident is opened: a failure is reported, and the rebuild stops there (the loads running
 * end first; the later ones would be built on a missing day). Histories from before the
 * fail-fast-replays patch replayed every load whatever failed.
 */
export async function rebuild(input: RebuildInput): Promise<RebuildResult> {
  const { workflowId } = workflowInfo();
  const failures = [...(input.failures ?? [])];
  let replayed = input.replayed ?? 0;
  if (replayed === 0) await beginRun({ runId: workflowId, workflowId, businessDate: input.loads[0]?.businessDate ?? 'none', tablesTotal: 0 });
  const dates = [...new Set(input.loads.map((l) => l.businessDate))].sort();
  markEtlAttributes(rebuildAttributes(input, dates, 'rebuild-running'));

  for (const [index, businessDate] of dates.entries()) {
    if (index >= (input.datesPerRun ?? defaultDatesPerRun) || workflowInfo().continueAsNewSuggested) {
      return continueAsNew<typeof rebuild>({ ...input, loads: input.loads.filter((l) => l.businessDate >= businessDate), replayed, failures, runs: (input.runs ?? 1) + 1 });
    }
    const report = await replayLoads(
      input.loads.filter((l) => l.businessDate === businessDate),
      {
        releasedChildId: (load) => `${workflowId}-${businessDate}-${load.table}`,
        input: (load) => ({ table: load.table, businessDate, runId: workflowId, archived: { fileName: load.fileName, archivePath: load.archivePath }, quarantine: false }),
        released: 'continue',
      },
    );
    replayed += report.loaded.length;
    for (const { load, error } of report.failed) {
      const failure = describeFailure(error);
      failures.push({ table: load.table, businessDate, errorType: failure.type, message: failure.message });
    }
    if (report.stopped) {
      // Fail-fast: a later date would be built on a missing day. What was not replayed is counted, not started.
      const notReplayed = report.notStarted.length + input.loads.filter((l) => l.businessDate > businessDate).length;
      markEtlAttributes({ status: 'rebuild-failed' });
      return { replayed, failures, runs: input.runs ?? 1, ...(notReplayed > 0 ? { notReplayed } : {}) };
    }
  }
  markEtlAttributes({ status: failures.length > 0 ? 'rebuild-failed' : 'rebuild-done' });
  return { replayed, failures, runs: input.runs ?? 1 };
}

/**
 * A rebuild's search attributes: the last business date it rebuilds through, and its table
 * when it rebuilds one (of several, none: EtlTable holds one name).
 */
function rebuildAttributes(input: RebuildInput, dates: string[], status: string): EtlAttributes {
  const tables = [...new Set(input.loads.map((l) => l.table))];
  return { status, ...(dates.length > 0 ? { businessDate: dates.at(-1)! } : {}), ...(tables.length === 1 ? { table: tables[0]! } : {}) };
}
