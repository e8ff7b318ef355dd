import { defineQuery, defineSignal } from '@temporalio/workflow';

/**
 * The warehouse lease's messages, ids and the types both sides share (DESIGN §7, "One writer
 * at a time"). Pure: used by the lease workflow, by every workflow that holds the lease, by
 * the CLI and by the tests.
 */

/**
 * Patch marker of the lease. Histories recorded before it neither asked for nor waited on a
 * lease; they replay through the old path, and every run started after the upgrade takes it.
 */
export const warehouseLeasePatch = 'warehouse-lease';

/** shared: a writer (several at once: they write different tables or dates); exclusive: a whole-warehouse restore. */
export type LeaseKind = 'shared' | 'exclusive';

/** A request: who asks (workflow id and the first run of its chain, which continue-as-new keeps), for what, and its token. */
export interface LeaseRequest {
  token: string;
  kind: LeaseKind;
  workflowId: string;
  /** firstExecutionRunId of the requester: a new start of the same workflow id is another chain. */
  chain: string;
}

/** The lease's answer to a request: granted now, or queued behind the workflows named. */
export interface LeaseAnswer {
  token: string;
  status: 'granted' | 'queued';
  /** Queued: the workflow ids holding the lease when the request came. */
  heldBy: string[];
  /** Queued: the workflow ids of the requests ahead of it in the queue. */
  behind: string[];
}

/** Who holds the lease and who waits for it, in order. */
export interface LeaseState {
  holders: (LeaseRequest & { grantedAt: string })[];
  queue: (LeaseRequest & { requestedAt: string })[];
}

const isText = (value: unknown, max = 300): value is string => typeof value === 'string' && value.length > 0 && value.length <= max;

/** True for a well-formed lease request. Signals can come from anyone who reaches Temporal: a malformed one must not fail a workflow task. */
export function isLeaseRequest(value: unknown): value is LeaseRequest {
  const r = value as Partial<LeaseRequest> | null;
  return typeof r === 'object' && r !== null && isText(r.token) && (r.kind === 'shared' || r.kind === 'exclusive') && isText(r.workflowId) && isText(r.chain);
}

/** True for a well-formed release (`{ token }`). */
export function isLeaseRelease(value: unknown): value is { token: string } {
  return typeof value === 'object' && value !== null && isText((value as { token?: unknown }).token);
}

/** True for a well-formed answer of the lease. */
export function isLeaseAnswer(value: unknown): value is LeaseAnswer {
  const a = value as Partial<LeaseAnswer> | null;
  return typeof a === 'object' && a !== null && isText(a.token) && (a.status === 'granted' || a.status === 'queued') && Array.isArray(a.heldBy) && Array.isArray(a.behind);
}

/** What the lease workflow is started with, and carries over continue-as-new. */
export interface WarehouseLeaseInput {
  state?: LeaseState;
  /** How often grants that block a waiting request are checked against the server (default 2 minutes). */
  livenessCheckMs?: number;
}

/** Ask for the lease; the answer comes back as leaseAnswerSignal. */
export const requestLeaseSignal = defineSignal<[LeaseRequest]>('requestLease');
/** Give the lease back (or withdraw a request still queued). */
export const releaseLeaseSignal = defineSignal<[{ token: string }]>('releaseLease');
/** Sent by the lease to the requester: granted, or queued (then granted later). */
export const leaseAnswerSignal = defineSignal<[LeaseAnswer]>('leaseAnswer');
/** The lease as it stands: holders and queue. */
export const leaseStateQuery = defineQuery<LeaseState>('leaseState');

/**
 * The workflow id of the lease of the warehouse a task queue's workers write to. The task
 * queue names the warehouse (one worker deployment per D1 database), and workflow ids are
 * unique per namespace, which several warehouses may share.
 */
export const warehouseLeaseWorkflowId = (taskQueue: string) => `warehouse-lease-${taskQueue}`;

/** The EtlStatus search attribute of a workflow waiting for the lease (the Web UI lists them). */
export const waitingForLeaseStatus = 'waiting-for-lease';
