import { ScheduleNotFoundError, ScheduleOverlapPolicy, WorkflowNotFoundError, type Client, type ScheduleDescription, type ScheduleOptions } from '@temporalio/client';
import type { ScheduledNightlyResult } from '../workflows/scheduled-nightly.ts';
import { businessDateFor, wallClock } from '../common/zoned-time.ts';
import type { Config } from '../worker/config.ts';
import { scheduledNightly, type ScheduledNightlyInput } from '../workflows/index.ts';
import { UserError } from './cli-support.ts';

/** The one schedule of the warehouse. */
export const nightlyScheduleId = 'nightly';

/** When the nightly run starts, and how missed runs are caught up. */
export interface NightlyScheduleSettings {
  /** Local time of day, `HH:MM` (default 03:00). */
  time: string;
  /** IANA zone of that time and of the business date (default Europe/Paris). */
  timeZone: string;
  /** After an outage, runs missed within this window still start (default 1 day). */
  catchupWindow: string;
}

/**
 * The schedule as Temporal stores it: every day at `time` in `timeZone`, starting
 * `scheduledNightly` (which derives the business date and runs nightly-<date>);
 * overlap SKIP (a night still running when the next is due is not doubled), a catch-up
 * window, and no pause on failure (one bad night must not stop the following ones).
 */
export function nightlyScheduleOptions(config: Config, settings: NightlyScheduleSettings, scheduleId = nightlyScheduleId): ScheduleOptions {
  const time = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(settings.time);
  if (!time) throw new UserError(`--time must be HH:MM (24-hour), got "${settings.time}"`);
  const args: [ScheduledNightlyInput] = [{ timeZone: settings.timeZone, maxParallel: config.load.maxParallel, recheckDays: config.load.recheckDays }];
  return {
    scheduleId,
    spec: { calendars: [{ hour: Number(time[1]), minute: Number(time[2]), comment: `every day at ${settings.time} ${settings.timeZone}` }], timezone: settings.timeZone },
    action: { type: 'startWorkflow', workflowType: scheduledNightly, workflowId: `scheduled-${scheduleId}`, taskQueue: config.temporal.taskQueue, args },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: settings.catchupWindow, pauseOnFailure: false },
  };
}

/** Creates the schedule, or brings an existing one to these settings (its paused state is kept). */
export async function upsertNightlySchedule(client: Client, options: ScheduleOptions): Promise<'created' | 'updated'> {
  const handle = client.schedule.getHandle(options.scheduleId);
  try {
    await handle.update((previous) => ({ ...previous, spec: options.spec, action: options.action, policies: { ...previous.policies, ...options.policies } }));
    return 'updated';
  } catch (error) {
    if (!(error instanceof ScheduleNotFoundError)) throw error;
  }
  await client.schedule.create(options);
  return 'created';
}

/** The schedule's handle, or a one-line error when it does not exist. */
export async function describeNightlySchedule(client: Client, scheduleId = nightlyScheduleId): Promise<ScheduleDescription> {
  try {
    return await client.schedule.getHandle(scheduleId).describe();
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) throw new UserError(`there is no schedule "${scheduleId}": create it with \`warehouse schedule create\``);
    throw error;
  }
}

/** How a run the schedule started ended, as far as Temporal knows: its workflow's status and, once completed, its result. */
export interface RecentRunState {
  /** The workflow's status name (`RUNNING`, `COMPLETED`, `FAILED`, `TERMINATED`, …), or `UNKNOWN` when its history is gone. */
  status: string;
  result?: ScheduledNightlyResult;
}

/**
 * One line on what a scheduled run did: still running, the night's tables loaded and failed
 * (a night whose tables all failed says so, it did not "load" its date), or how the run
 * itself ended. Pure.
 */
export function recentRunOutcome(state: RecentRunState): string {
  if (state.status !== 'COMPLETED') return state.status === 'UNKNOWN' ? 'outcome unknown (history no longer kept)' : state.status.toLowerCase().replaceAll('_', ' ');
  const summary = state.result?.summary;
  if (!summary) return `${state.result?.nightlyWorkflowId ?? 'the night'} was already running: left alone`;
  const failed = summary.tables.filter((t) => t.status === 'failed').map((t) => t.table);
  const deferred = summary.tables.filter((t) => t.status === 'deferred').length;
  const loaded = summary.tables.length - failed.length - deferred;
  const parts = [`${loaded} of ${summary.tables.length} tables loaded`];
  if (deferred) parts.push(`${deferred} held back by an incident`);
  if (failed.length) parts.push(`${failed.length} failed (${failed.join(', ')})`);
  return `${summary.status === 'ok' ? 'ok' : summary.status.toUpperCase()}: ${parts.join(', ')}`;
}

/** The state of each recent run of the schedule, read from its workflow (runs whose history has expired are UNKNOWN; any other failure is thrown). */
export async function recentRunStates(client: Client, description: ScheduleDescription): Promise<Map<string, RecentRunState>> {
  const states = new Map<string, RecentRunState>();
  for (const action of description.info.recentActions) {
    const { workflowId, firstExecutionRunId } = action.action.workflow;
    const handle = client.workflow.getHandle<() => Promise<ScheduledNightlyResult>>(workflowId, firstExecutionRunId);
    try {
      const { status } = await handle.describe();
      states.set(workflowId, { status: status.name, ...(status.name === 'COMPLETED' ? { result: await handle.result() } : {}) });
    } catch (error) {
      // Only a history Temporal no longer keeps is unknown; a lost connection is an error, not an outcome.
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      states.set(workflowId, { status: 'UNKNOWN' });
    }
  }
  return states;
}

/** What `warehouse schedule describe` shows: state, policies, the next runs in local time with their business dates, the recent ones and how they ended. */
export function scheduleSummary(description: ScheduleDescription, states: ReadonlyMap<string, RecentRunState> = new Map()) {
  const action = description.action as { args?: ScheduledNightlyInput[] };
  const timeZone = action.args?.[0]?.timeZone ?? description.spec.timezone ?? 'UTC';
  const run = (at: Date) => ({ at: at.toISOString(), local: `${wallClock(at, timeZone)} ${timeZone}`, businessDate: businessDateFor(at, timeZone) });
  return {
    scheduleId: description.scheduleId,
    paused: description.state.paused,
    note: description.state.note ?? null,
    timeZone,
    overlap: description.policies.overlap,
    catchupWindowMs: description.policies.catchupWindow,
    pauseOnFailure: description.policies.pauseOnFailure,
    nextRuns: description.info.nextActionTimes.map(run),
    recentRuns: description.info.recentActions.map((a) => {
      const state = states.get(a.action.workflow.workflowId);
      return { ...run(a.scheduledAt), workflowId: a.action.workflow.workflowId, status: state?.status ?? null, outcome: state ? recentRunOutcome(state) : null };
    }),
  };
}

/** The summary as an operator reads it. */
export function formatScheduleSummary(summary: ReturnType<typeof scheduleSummary>): string {
  const lines = [
    `schedule ${summary.scheduleId}: ${summary.paused ? `PAUSED${summary.note ? ` (${summary.note})` : ''}` : 'active'}`,
    `  overlap ${summary.overlap}, catch-up window ${Math.round(summary.catchupWindowMs / 3_600_000)} h, pause on failure ${summary.pauseOnFailure ? 'on' : 'off'}`,
    '  next runs:',
    ...summary.nextRuns.map((r) => `    ${r.local}  loads ${r.businessDate}`),
  ];
  if (summary.recentRuns.length) lines.push('  recent runs:', ...summary.recentRuns.map((r) => `    ${r.local}  ${r.businessDate}: ${r.outcome ?? 'started'}  (${r.workflowId})`));
  return lines.join('\n');
}
