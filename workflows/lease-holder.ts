import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { CancellationScope, condition, getExternalWorkflowHandle, log, ParentClosePolicy, patched, proxyActivities, proxyLocalActivities, setHandler, startChild, upsertSearchAttributes, uuid4, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { etlStatusKey } from '../common/search-attributes.ts';
import { localShortActivity, shortActivity } from './activity-profiles.ts';
import { describeFailure } from './failures.ts';
import {
  isLeaseAnswer,
  leaseAnswerSignal,
  releaseLeaseSignal,
  requestLeaseSignal,
  waitingForLeaseStatus,
  warehouseLeasePatch,
  warehouseLeaseWorkflowId,
  type LeaseAnswer,
  type LeaseKind,
} from './lease-messages.ts';
import { warehouseLease } from './warehouse-lease.ts';

const { workerTaskQueue } = proxyActivities<Activities>(shortActivity);
const { workerTaskQueue: localWorkerTaskQueue } = proxyLocalActivities<Activities>(localShortActivity);

/** Patch marker: the worker's task queue (the lease's id) is asked by a local activity; histories before it asked an activity. */
export const localLeaseQueuePatch = 'local-lease-queue';

/** A lease granted to this workflow: what releases it (kept in a backfill's continue-as-new input). */
export interface LeaseTicket {
  leaseId: string;
  token: string;
  kind: LeaseKind;
}

/** How a holder shows its wait: in its own state, and its EtlStatus once the wait is over. */
export interface LeaseWait {
  /** Told what it waits for while queued (`warehouse lease (held by nightly-2026-03-05)`), then undefined once granted. */
  onWait?: (waitingFor: string | undefined) => void;
  /** The EtlStatus to set back once granted (it is `waiting-for-lease` meanwhile). */
  resumeStatus?: string;
}

/**
 * Asks the warehouse lease for a `kind` grant and waits for it. Starts the lease workflow if
 * it is not running (it outlives this workflow). While queued, the EtlStatus search attribute
 * says `waiting-for-lease` and `onWait` says what for. Undefined, and nothing asked, when
 * replaying a history recorded before the lease existed.
 */
export async function acquireWarehouseLease(kind: LeaseKind, wait: LeaseWait = {}): Promise<LeaseTicket | undefined> {
  if (!patched(warehouseLeasePatch)) return undefined;
  const info = workflowInfo();
  // Not workflowInfo().taskQueue: a replaying worker has a queue of its own.
  const taskQueue = patched(localLeaseQueuePatch) ? await localWorkerTaskQueue() : await workerTaskQueue();
  const ticket: LeaseTicket = { leaseId: warehouseLeaseWorkflowId(taskQueue), token: `${info.workflowId}/${info.firstExecutionRunId}/${uuid4()}`, kind };
  let answer: LeaseAnswer | undefined;
  setHandler(leaseAnswerSignal, (received: unknown) => {
    if (isLeaseAnswer(received) && received.token === ticket.token && answer?.status !== 'granted') answer = received;
  });
  try {
    await startChild(warehouseLease, { workflowId: ticket.leaseId, args: [{}], parentClosePolicy: ParentClosePolicy.ABANDON });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
  try {
    await getExternalWorkflowHandle(ticket.leaseId).signal(requestLeaseSignal, { token: ticket.token, kind, workflowId: info.workflowId, chain: info.firstExecutionRunId });
    await condition(() => answer !== undefined);
    if (answer!.status === 'queued') {
      const waitingFor = describeWait(answer!);
      log.info('waiting for the warehouse lease', { kind, waitingFor });
      wait.onWait?.(waitingFor);
      upsertSearchAttributes([{ key: etlStatusKey, value: waitingForLeaseStatus }]);
      await condition(() => answer!.status === 'granted');
      wait.onWait?.(undefined);
      if (wait.resumeStatus) upsertSearchAttributes([{ key: etlStatusKey, value: wait.resumeStatus }]);
    }
  } catch (error) {
    // Cancelled (or failed) while waiting: the request is withdrawn, so it blocks nobody.
    await releaseWarehouseLease(ticket);
    throw error;
  }
  return ticket;
}

/** Gives a grant back (or withdraws a request), even while this workflow is being cancelled. Never throws. */
export async function releaseWarehouseLease(ticket: LeaseTicket | undefined): Promise<void> {
  if (!ticket) return;
  try {
    await CancellationScope.nonCancellable(() => getExternalWorkflowHandle(ticket.leaseId).signal(releaseLeaseSignal, { token: ticket.token }));
  } catch (error) {
    // The lease drops the grant itself once this run is over.
    log.warn('could not release the warehouse lease', { token: ticket.token, ...describeFailure(error) });
  }
}

/** Runs `work` holding the warehouse lease (`kind`), released when it ends, however it ends. */
export async function withWarehouseLease<T>(kind: LeaseKind, wait: LeaseWait, work: () => Promise<T>): Promise<T> {
  const ticket = await acquireWarehouseLease(kind, wait);
  try {
    return await work();
  } finally {
    await releaseWarehouseLease(ticket);
  }
}

/** `warehouse lease (held by nightly-2026-03-05; queued behind rollback-…)`. */
function describeWait(answer: LeaseAnswer): string {
  const parts = [...(answer.heldBy.length ? [`held by ${[...new Set(answer.heldBy)].join(', ')}`] : []), ...(answer.behind.length ? [`queued behind ${[...new Set(answer.behind)].join(', ')}`] : [])];
  return `warehouse lease${parts.length ? ` (${parts.join('; ')})` : ''}`;
}
