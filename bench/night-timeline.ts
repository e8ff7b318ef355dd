/**
 * Where a night's time goes, read from the Temporal histories of `nightly-<date>` and every
 * child workflow it started (loadTable per table, re-checks, the lease): for each activity its
 * queue time (Scheduled → Started) and run time (Started → Completed; a local activity, from the
 * start of its workflow task or the end of the local activity before it to the completion time in
 * its marker, no queue), and for each workflow
 * the time spent between its activities (workflow tasks, child starts, timers).
 */
import type { Client } from '@temporalio/client';
import { localActivityOf } from '../client/local-activity-marker.ts';
import { childWorkflowId } from '../workflows/messages.ts';

type HistoryEvent = NonNullable<Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>['events']>[number];

/** One activity execution as the history shows it (retries folded into the one Started/closed pair). */
export interface ActivitySpan {
  workflowId: string;
  type: string;
  scheduledMs: number;
  startedMs: number;
  closedMs: number;
  attempt: number;
}

/** One workflow's span and the time its activities covered. */
export interface WorkflowSpan {
  workflowId: string;
  type: string;
  startMs: number;
  endMs: number;
  /** Union of its activities' Scheduled → closed intervals. */
  inActivitiesMs: number;
  /** Union of its child workflows' Initiated → closed intervals. */
  inChildrenMs: number;
  /** Union of both: the rest of its span is between activities (workflow tasks, timers, waits). */
  busyMs: number;
  /** When its first child was initiated and its last one closed (undefined without children). */
  children?: { firstMs: number; lastMs: number };
}

/** A night's timeline: every workflow and every activity. */
export interface NightTimeline {
  workflows: WorkflowSpan[];
  activities: ActivitySpan[];
}

const ms = (t: HistoryEvent['eventTime']): number => (t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : 0);

function unionMs(intervals: [number, number][]): number {
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of intervals.sort((x, y) => x[0] - y[0])) {
    if (a > end) total += b - a;
    else if (b > end) total += b - end;
    end = Math.max(end, b);
  }
  return total;
}

/** Reads the history of `workflowId` and, recursively, of the children it started. */
export async function nightTimeline(client: Client, workflowId: string): Promise<NightTimeline> {
  const timeline: NightTimeline = { workflows: [], activities: [] };
  const pending = [workflowId];
  while (pending.length > 0) {
    const id = pending.shift()!;
    const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
    const scheduled = new Map<string, ActivitySpan>();
    const initiated = new Map<string, [number, number]>();
    let type = '';
    /** When the current workflow task started, then when its last local activity completed. */
    let boundaryMs = 0;
    for (const e of events) {
      const at = ms(e.eventTime);
      const eventId = String(e.eventId);
      const local = localActivityOf(e);
      if (e.workflowTaskStartedEventAttributes) boundaryMs = at;
      if (local) {
        // Local activities run one after another in the workflow task: each from the end of the one before
        // (or the task's start) to its completion, the one time of its marker that is reliable.
        const startMs = Math.min(boundaryMs, local.completedMs);
        scheduled.set(eventId, { workflowId: id, type: `${local.type} (local)`, scheduledMs: startMs, startedMs: startMs, closedMs: local.completedMs, attempt: local.attempt });
        boundaryMs = local.completedMs;
      } else if (e.workflowExecutionStartedEventAttributes) type = e.workflowExecutionStartedEventAttributes.workflowType?.name ?? '';
      else if (e.activityTaskScheduledEventAttributes) scheduled.set(eventId, { workflowId: id, type: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?', scheduledMs: at, startedMs: at, closedMs: at, attempt: 1 });
      else if (e.activityTaskStartedEventAttributes) {
        const span = scheduled.get(String(e.activityTaskStartedEventAttributes.scheduledEventId));
        if (span) Object.assign(span, { startedMs: at, attempt: e.activityTaskStartedEventAttributes.attempt ?? 1 });
      } else {
        const closed = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes ?? e.activityTaskCanceledEventAttributes;
        const span = closed ? scheduled.get(String(closed.scheduledEventId)) : undefined;
        if (span) span.closedMs = at;
        if (e.startChildWorkflowExecutionInitiatedEventAttributes) initiated.set(eventId, [at, at]);
        const child = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId;
        if (child) pending.push(child);
        const childClosed = e.childWorkflowExecutionCompletedEventAttributes ?? e.childWorkflowExecutionFailedEventAttributes ?? e.childWorkflowExecutionTimedOutEventAttributes ?? e.childWorkflowExecutionCanceledEventAttributes ?? e.childWorkflowExecutionTerminatedEventAttributes;
        const interval = childClosed ? initiated.get(String(childClosed.initiatedEventId)) : undefined;
        if (interval) interval[1] = at;
      }
    }
    const spans = [...scheduled.values()];
    const activityIntervals = spans.map((s): [number, number] => [s.scheduledMs, s.closedMs]);
    const childIntervals = [...initiated.values()];
    timeline.activities.push(...spans);
    timeline.workflows.push({
      workflowId: id,
      type,
      startMs: ms(events[0]?.eventTime),
      endMs: ms(events.at(-1)?.eventTime),
      inActivitiesMs: unionMs([...activityIntervals]),
      inChildrenMs: unionMs([...childIntervals]),
      busyMs: unionMs([...activityIntervals, ...childIntervals]),
      ...(childIntervals.length > 0 ? { children: { firstMs: Math.min(...childIntervals.map((c) => c[0])), lastMs: Math.max(...childIntervals.map((c) => c[1])) } } : {}),
    });
  }
  return timeline;
}

/** Per activity type over some nights: executions, mean queue and run seconds, total run seconds. */
export function activityBreakdown(activities: ActivitySpan[]): { type: string; count: number; queueMean: number; runMean: number; runTotal: number; retried: number }[] {
  const byType = new Map<string, ActivitySpan[]>();
  for (const a of activities) byType.set(a.type, [...(byType.get(a.type) ?? []), a]);
  return [...byType.entries()]
    .map(([type, spans]) => {
      const queue = spans.reduce((n, s) => n + (s.startedMs - s.scheduledMs), 0) / 1000;
      const runTotal = spans.reduce((n, s) => n + (s.closedMs - s.startedMs), 0) / 1000;
      return { type, count: spans.length, queueMean: queue / spans.length, runMean: runTotal / spans.length, runTotal, retried: spans.filter((s) => s.attempt > 1).length };
    })
    .sort((a, b) => b.runTotal - a.runTotal);
}

/**
 * D1 requests per activity type: a request attributed to a table (night-d1-counter.ts) belongs to
 * the activity of that table's loadTable that began last before it arrived (they run one after
 * another); a `night` request to the nightly workflow's activity that began last. Unmatched (before
 * the first): `(between activities)`.
 */
export function requestsByActivity(timeline: NightTimeline, log: readonly { atMs: number; table: string; seconds: number }[]): Map<string, { requests: number; seconds: number }> {
  const result = new Map<string, { requests: number; seconds: number }>();
  const night = timeline.workflows.find((w) => w.type === 'nightlyRun')?.workflowId ?? '';
  const businessDate = night.replace(/^nightly-/, '');
  for (const request of log) {
    const owner = request.table === 'night' ? night : childWorkflowId(night, request.table, businessDate);
    // The step that began last before the request: a workflow sends none itself, and a local activity's
    // marker times are the worker's own (its end can read a little before its start).
    const span = timeline.activities.filter((a) => a.workflowId === owner && a.scheduledMs <= request.atMs).reduce<ActivitySpan | undefined>((last, a) => (!last || a.scheduledMs > last.scheduledMs ? a : last), undefined);
    const key = span?.type ?? '(between activities)';
    const entry = result.get(key) ?? { requests: 0, seconds: 0 };
    result.set(key, { requests: entry.requests + 1, seconds: entry.seconds + request.seconds });
  }
  return result;
}
