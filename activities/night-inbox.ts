import { readdir } from 'node:fs/promises';
import { log } from '@temporalio/activity';
import { exportDeadline, operatorTime } from '../common/zoned-time.ts';
import { activityCancellation, sleepUnlessCancelled } from '../d1/cancellation.ts';
import { contractFor } from '../contracts/index.ts';
import { exportFileName } from '../contracts/types.ts';
import { whileHeartbeating } from './keep-alive.ts';
import type { NasLayout } from './nas.ts';
import type { InboxProblem, MissingNight } from '../common/incident-facts.ts';

/** What looking at a night's inbox needs (the same settings as fetch). */
export interface NightInboxDeps {
  nas: NasLayout;
  /** Until when a night's export may still arrive: the day after the business date at this local time. */
  exportDeadline: { timeOfDay: string; timeZone: string };
  /** How often to look again. */
  pollMs: number;
}

/** Defined with the incident facts (common/), which carry them to the alert; re-exported for this module's callers. */
export type { InboxProblem, MissingNight } from '../common/incident-facts.ts';

/** The night's export has begun to arrive (per-table fetches take it from here), or nothing of it came by the deadline. */
export type NightArrival = { arrived: true; tables: string[]; /** The export deadline as operators read it (absent in histories before it). */ deadlineLocal?: string } | ({ arrived: false } & MissingNight);

/**
 * Whether any of the night's export files is in the inbox. Like fetch it waits until the
 * export deadline (heartbeating), since Sodiwin may be late and the NAS may come back; it
 * returns as soon as one file of the night is there. At the deadline, an inbox that is not
 * there or cannot be listed, or holds no file of the night, is one problem for the whole
 * night (a missing NAS mount, an export that did not run), not one per table.
 */
export const createNightInboxActivities = (deps: NightInboxDeps) => ({
  awaitNightExport(input: { businessDate: string; tables: string[] }): Promise<NightArrival> {
    const deadline = exportDeadline(input.businessDate, deps.exportDeadline.timeOfDay, deps.exportDeadline.timeZone);
    const deadlineLocal = operatorTime(deadline, deps.exportDeadline.timeZone);
    // Said from the first beat on: the SDK sends later ones at most every 24 s.
    let beat = { status: `looking for the export files of ${input.businessDate} in ${deps.nas.inbox} (until ${deadlineLocal})` };
    return whileHeartbeating(async () => {
      const expected = new Map(input.tables.map((table) => [exportFileName(contractFor(table), input.businessDate), table]));
      for (;;) {
        const seen = await listInbox(deps.nas.inbox);
        const present = 'names' in seen ? seen.names.flatMap((name) => expected.get(name) ?? []) : [];
        if (present.length > 0) return { arrived: true, tables: present.sort(), deadlineLocal };
        beat = { status: `waiting for any of the ${expected.size} export files of ${input.businessDate} in ${deps.nas.inbox} until ${deadlineLocal}: ${'names' in seen ? 'none there yet' : seen.problem}` };
        if (Date.now() >= deadline.getTime()) {
          const problem = 'names' in seen ? 'no-export' : seen.problem;
          log.warn('no export of the night in the inbox at the deadline', { businessDate: input.businessDate, inbox: deps.nas.inbox, problem });
          return { arrived: false, inbox: deps.nas.inbox, deadline: deadline.toISOString(), deadlineLocal: operatorTime(deadline, deps.exportDeadline.timeZone), problem, ...('detail' in seen && seen.detail ? { detail: seen.detail } : {}) };
        }
        // A cancelled activity (the worker shutting down) stops waiting at once; its retry looks again.
        await sleepUnlessCancelled(Math.min(deps.pollMs, deadline.getTime() - Date.now()), activityCancellation());
      }
    }, () => beat);
  },
});

/** The inbox's entry names, or why they cannot be read. */
async function listInbox(inbox: string): Promise<{ names: string[] } | { problem: Exclude<InboxProblem, 'no-export'>; detail: string }> {
  try {
    return { names: await readdir(inbox) };
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const problem = code === 'ENOENT' ? 'absent' : code === 'ENOTDIR' ? 'not-a-directory' : 'unreadable';
    return { problem, detail: message };
  }
}
