/** Every workflow the worker registers (the entry point of the workflow bundle). */
export { warehouseProbe } from './probe.ts';
export { loadTable } from './load-table.ts';
export { nightlyRun } from './nightly-run.ts';
export { incident } from './incident.ts';
export { manualRollback } from './manual-rollback.ts';
export { scheduledNightly } from './scheduled-nightly.ts';
export { recheck, recheckWorkflowId } from './recheck.ts';
export { rebuild } from './rebuild.ts';
export { backfill, backfillProgressQuery } from './backfill.ts';
export type { LoadTableInput, LoadTableResult } from './load-table.ts';
export type { NightlyRunInput, NightlySummary, TableOutcome } from './nightly-run.ts';
export { approveRollbackSignal, incidentStateQuery, incidentWorkflowId, type ApproveRollback, type IncidentState, type RollbackMode } from './incident.ts';
export type { ManualRollbackInput, ManualRollbackResult } from './manual-rollback.ts';
export type { ScheduledNightlyInput, ScheduledNightlyResult } from './scheduled-nightly.ts';
export type { RecheckInput, RecheckResult } from './recheck.ts';
export type { RebuildInput, RebuildLoad, RebuildResult } from './rebuild.ts';
export type { BackfillInput, BackfillProgress, BackfillResult, BackfillState } from './backfill.ts';
