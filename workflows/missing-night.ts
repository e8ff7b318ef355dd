import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { MissingNight } from '../common/incident-facts.ts';
import { fetchActivity, shortActivity } from './activity-profiles.ts';
import { describeFailure } from './failures.ts';
import { nightIncidentSubject, nightIncidentWorkflowId } from './messages.ts';
import { openIncidentWorkflow } from './open-incident.ts';
import { loadStepSummaries } from './summaries.ts';

const { awaitNightExport } = proxyActivities<Activities>(fetchActivity);
const { recordLoadFailure } = proxyActivities<Activities>(shortActivity);

/** Patch marker: a night with no export at all opens one incident for all its tables (histories before it opened one per table). */
export const nightIncidentPatch = 'night-incident';

/**
 * What the wait for the night's first file found: `held`, every table's outcome when none came
 * (no table is loaded); else the export deadline as operators read it, when the inbox told it
 * (each table's fetch waits until then: its summary in the Web UI says so).
 */
export interface NightHold {
  held?: Map<string, MissingNightOutcome>;
  deadlineLocal?: string;
}

/** A table of a night that had nothing to load: failed ExportMissing, held back by the night's incident. */
export interface MissingNightOutcome {
  table: string;
  businessDate: string;
  status: 'failed';
  errorType: 'ExportMissing';
  message: string;
}

/** The cause in a few words, for the incident's message and each table's etl_loads row. */
function causeOf(night: MissingNight): string {
  switch (night.problem) {
    case 'absent':
      return 'the inbox folder does not exist (is the NAS mounted?)';
    case 'unreadable':
      return `the inbox folder cannot be read (${night.detail ?? 'no reason given'})`;
    case 'not-a-directory':
      return 'the inbox is not a folder (is the NAS mounted?)';
    case 'no-export':
      return "the inbox holds no file of the night (did Sodiwin's export run?)";
  }
}

/**
 * Before the fan-out: waits (to the export deadline) for any of the night's export files. If
 * none came (the inbox is missing or unreadable, or Sodiwin's export did not run), opens ONE
 * incident, `incident-inbox-<date>`, holding every table back, records each table's load as
 * failed ExportMissing naming it, and answers each table's outcome (`held`): no table is loaded
 * and the caller starts no `loadTable`. No `held` when the night's files are arriving (each
 * table's fetch takes over, as before) or when the inbox could not be looked at (the
 * per-table path still rings its own alarms).
 */
export async function holdMissingNight(input: { businessDate: string; runId: string; tables: string[] }): Promise<NightHold> {
  const { businessDate, runId, tables } = input;
  if (tables.length === 0) return {};
  let arrival: Awaited<ReturnType<typeof awaitNightExport>>;
  try {
    arrival = await awaitNightExport.executeWithOptions({ summary: `wait for the first of the ${tables.length} export files of ${businessDate} in the inbox` }, [{ businessDate, tables }]);
  } catch (error) {
    log.warn('the inbox could not be looked at; each table fetches on its own', { businessDate, ...describeFailure(error) });
    return {};
  }
  if (arrival.arrived) return arrival.deadlineLocal ? { deadlineLocal: arrival.deadlineLocal } : {};
  const night: MissingNight = {
    inbox: arrival.inbox,
    deadline: arrival.deadline,
    ...(arrival.deadlineLocal ? { deadlineLocal: arrival.deadlineLocal } : {}),
    problem: arrival.problem,
    ...(arrival.detail ? { detail: arrival.detail } : {}),
  };
  const incidentId = nightIncidentWorkflowId(businessDate);
  const message = `no export file for any of the ${tables.length} tables (${tables.join(', ')}) in ${night.inbox} at the deadline (${night.deadlineLocal ?? night.deadline}): ${causeOf(night)}`;

  // The alarm first: the incident records itself and sends the one email, whatever happens to the bookkeeping below.
  await openIncidentWorkflow(incidentId, { table: nightIncidentSubject, tables, night, businessDate, errorType: 'ExportMissing', message, quarantineDir: '(nothing to quarantine: no file arrived)' });
  const outcomes = new Map<string, MissingNightOutcome>();
  for (const table of tables) {
    const detail = `${message}; incident ${incidentId} holds ${table} back`;
    try {
      await recordLoadFailure.executeWithOptions({ summary: loadStepSummaries.recordFailure(table, businessDate, 'ExportMissing') }, [{ runId, table, businessDate, errorType: 'ExportMissing', errorDetail: detail, reverted: false }]);
    } catch (error) {
      log.error('the missing export could not be recorded in etl_loads', { table, businessDate, incidentId, ...describeFailure(error) });
    }
    outcomes.set(table, { table, businessDate, status: 'failed', errorType: 'ExportMissing', message: detail });
  }
  return { held: outcomes };
}
