import { continueAsNew, executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { shortActivity } from './activity-profiles.ts';
import { mapWithConcurrency } from './concurrency.ts';
import { describeFailure } from './failures.ts';
import { loadTable } from './load-table.ts';

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
}

/** Business dates one run of the workflow replays before it continues as new (bounded history). */
const defaultDatesPerRun = 30;

/**
 * Rebuild from the archive: replays every archived load, date by date (tables of a date
 * four at a time), through the same loadTable as the nightly run, into the warehouse this
 * worker writes to (a scratch one). History is a pure function of the ordered files, so a
 * faithful warehouse and its rebuild have the same checksums. Nothing is quarantined and
 * no incident is opened: a failure is reported.
 */
export async function rebuild(input: RebuildInput): Promise<RebuildResult> {
  const { workflowId } = workflowInfo();
  const failures = [...(input.failures ?? [])];
  let replayed = input.replayed ?? 0;
  if (replayed === 0) await beginRun({ runId: workflowId, workflowId, businessDate: input.loads[0]?.businessDate ?? 'none', tablesTotal: 0 });
  const dates = [...new Set(input.loads.map((l) => l.businessDate))].sort();

  for (const [index, businessDate] of dates.entries()) {
    if (index >= (input.datesPerRun ?? defaultDatesPerRun) || workflowInfo().continueAsNewSuggested) {
      return continueAsNew<typeof rebuild>({ ...input, loads: input.loads.filter((l) => l.businessDate >= businessDate), replayed, failures, runs: (input.runs ?? 1) + 1 });
    }
    const loads = input.loads.filter((l) => l.businessDate === businessDate);
    await mapWithConcurrency(loads, 4, async (load) => {
      try {
        await executeChild(loadTable, {
          workflowId: `${workflowId}-${businessDate}-${load.table}`,
          args: [{ table: load.table, businessDate, runId: workflowId, archived: { fileName: load.fileName, archivePath: load.archivePath }, quarantine: false }],
        });
        replayed += 1;
      } catch (error) {
        const failure = describeFailure(error);
        failures.push({ table: load.table, businessDate, errorType: failure.type, message: failure.message });
      }
    });
  }
  return { replayed, failures, runs: input.runs ?? 1 };
}
