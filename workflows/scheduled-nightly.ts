import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ApplicationFailure, executeChild, log, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { businessDateKey, scheduledStartTimeKey } from '../common/search-attributes.ts';
import { businessDateFor } from '../common/zoned-time.ts';
import { nightlyWorkflowId as nightlyIdOf } from './messages.ts';
import { nightlyRun, type NightlyRunInput, type NightlySummary } from './nightly-run.ts';

/** What the schedule starts: the zone that turns its time into a business date, and the night's settings. */
export interface ScheduledNightlyInput extends Omit<NightlyRunInput, 'businessDate'> {
  /** The schedule's time zone (Europe/Paris): the business date is the day before the local date of the scheduled time. */
  timeZone: string;
}

/** Which night a scheduled run loaded, and how it ended. */
export interface ScheduledNightlyResult {
  scheduledAt: string;
  businessDate: string;
  nightlyWorkflowId: string;
  /** Absent when nightly-<date> was already running (started by hand): this run left it alone. */
  summary?: NightlySummary;
}

/**
 * The Schedule's action: derive the business date from the scheduled start time
 * (deterministic: the same scheduled time always gives the same date, whatever the
 * clock when the run starts, DST included), then run `nightly-<date>` as a child, so a
 * date runs once at a time whether it was scheduled, triggered or started by hand.
 */
export async function scheduledNightly(input: ScheduledNightlyInput): Promise<ScheduledNightlyResult> {
  const info = workflowInfo();
  // Set by the server on every run a schedule starts (trigger and backfill included).
  const scheduledAt = info.typedSearchAttributes.get(scheduledStartTimeKey);
  if (!scheduledAt) {
    throw ApplicationFailure.create({ type: 'InvalidInput', message: `${info.workflowId} was not started by a schedule (no TemporalScheduledStartTime); use \`warehouse run --date\``, nonRetryable: true });
  }
  const { timeZone, ...night } = input;
  const businessDate = businessDateFor(scheduledAt, timeZone);
  upsertSearchAttributes([{ key: businessDateKey, value: businessDate }]);
  const nightlyWorkflowId = nightlyIdOf(businessDate);
  const result: ScheduledNightlyResult = { scheduledAt: scheduledAt.toISOString(), businessDate, nightlyWorkflowId };
  try {
    result.summary = await executeChild(nightlyRun, { workflowId: nightlyWorkflowId, args: [{ ...night, businessDate }] });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    log.info('nightly run already running: left alone', { nightlyWorkflowId });
  }
  return result;
}
