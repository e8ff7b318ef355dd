import type { Dialect } from '../contracts/types.ts';
import type { D1Client } from '../d1/client.ts';
import type { ApproverKey } from './approver-keys.ts';
import { createApprovalActivities } from './approvals.ts';
import { createAuditTrailActivities } from './audit-trail.ts';
import { createBackfillActivities } from './backfill.ts';
import { recordingFailures } from './failure-record.ts';
import { createFetchActivities } from './fetch.ts';
import type { NasLayout } from './nas.ts';
import { createNightInboxActivities } from './night-inbox.ts';
import { createProbeActivities } from './probe.ts';
import { createPublishActivities } from './publish.ts';
import { createQuarantineActivities } from './quarantine.ts';
import { createIncidentActivities, type IncidentDeps } from './incidents.ts';
import { createLeaseActivities, type LeaseDeps } from './lease.ts';
import { createRecheckActivities } from './recheck.ts';
import { createRepairActivities } from './repair.ts';
import { createRunActivities } from './runs.ts';
import { createStageActivities } from './stage.ts';
import { createValidateActivities } from './validate.ts';
import { createVerifyActivities } from './verify.ts';

/** Everything the activities need, injected by the worker (or a test). */
export interface ActivityDeps {
  d1: D1Client;
  nas: NasLayout;
  stableForMs: number;
  exportDeadline: { timeOfDay: string; timeZone: string };
  pollMs: number;
  /** The export dialect (Sodiwin's, with the configured encoding). */
  dialect: Dialect;
  rejectTolerance: number;
  /** Rejected lines of a load kept in etl_rejected_rows (WAREHOUSE_REJECTED_ROWS_CAP). */
  rejectedRowsCap: number;
  stageChunkRows: number;
  mail: IncidentDeps['mail'];
  temporalUi: IncidentDeps['temporalUi'];
  /** Who may approve: the keys of the worker's configuration, nothing a caller sends. */
  approverKeys: readonly ApproverKey[];
  /** `<account>/<database>`: what approval statements must name. */
  warehouseId: string;
  /** The lease's look at a workflow's latest run (default: the worker's own Temporal client). */
  latestRun?: LeaseDeps['latestRun'];
}

/** All activities the worker registers. Workflows import this type only. */
export const createActivities = (deps: ActivityDeps) => ({
  ...createProbeActivities(deps),
  ...createRunActivities(deps),
  ...recordingFailures(deps.nas, 'fetch', createFetchActivities(deps)),
  ...createNightInboxActivities(deps),
  ...recordingFailures(deps.nas, 'validate', createValidateActivities(deps)),
  ...recordingFailures(deps.nas, 'stage', createStageActivities(deps)),
  ...recordingFailures(deps.nas, 'publish', createPublishActivities(deps)),
  ...recordingFailures(deps.nas, 'verify', createVerifyActivities(deps)),
  ...createQuarantineActivities(deps),
  ...createIncidentActivities(deps),
  ...createRepairActivities(deps),
  ...createRecheckActivities(deps),
  ...createBackfillActivities(deps),
  ...createApprovalActivities(deps),
  ...createAuditTrailActivities(deps),
  ...createLeaseActivities(deps),
});

/** The activity functions, as workflows see them through proxyActivities. */
export type Activities = ReturnType<typeof createActivities>;
