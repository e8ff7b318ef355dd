/** Every workflow the worker registers (the entry point of the workflow bundle), and the messages the CLI sends them. */
export { warehouseProbe } from './probe.ts';
export { loadTable } from './load-table.ts';
export { nightlyRun } from './nightly-run.ts';
export { incident } from './incident.ts';
export { manualRollback } from './manual-rollback.ts';
export { paritySignOff } from './parity-signoff.ts';
export { scheduledNightly } from './scheduled-nightly.ts';
export { recheck } from './recheck.ts';
export { rebuild } from './rebuild.ts';
export { backfill } from './backfill.ts';
export { warehouseLease } from './warehouse-lease.ts';
export type { LoadTableInput, LoadTableResult } from './load-table.ts';
export type { NightlyRunInput, NightlySummary, TableOutcome } from './nightly-run.ts';
export type { ParitySignOffInput, ParitySignOffResult } from './parity-signoff.ts';
export type { ManualRollbackInput, ManualRollbackResult } from './manual-rollback.ts';
export type { ScheduledNightlyInput, ScheduledNightlyResult } from './scheduled-nightly.ts';
export type { RecheckInput, RecheckResult } from './recheck.ts';
export type { RebuildInput, RebuildLoad, RebuildResult } from './rebuild.ts';
export type { BackfillInput, BackfillResult, BackfillState } from './backfill.ts';
export {
  approvalPayloadProblem,
  approveRollbackSignal,
  approveRollbackUpdate,
  backfillProgressQuery,
  incidentStateQuery,
  incidentWorkflowId,
  leaseStateQuery,
  nightIncidentWorkflowId,
  nightlyWorkflowId,
  recheckProgressQuery,
  progressQuery,
  recheckWorkflowId,
  waitingForLeaseStatus,
  warehouseLeaseWorkflowId,
  type ApprovalOutcome,
  type ApprovalPayload,
  type BackfillProgress,
  type IncidentState,
  type LeaseKind,
  type LeaseState,
  type RecheckProgress,
  type NightProgress,
  type RollbackMode,
  type TableProgress,
} from './messages.ts';
