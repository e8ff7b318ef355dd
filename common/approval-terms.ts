/*
 * The words of a signed approval that workflows need too, without the statement's schema:
 * zod stays out of the workflow bundle, which every new workflow evaluates afresh.
 */

/** The decisions that need an approver's signature. */
export const approvalActions = ['approve-incident', 'manual-rollback', 'parity-signoff'] as const;
/** One of the signed decisions. */
export type ApprovalAction = (typeof approvalActions)[number];

/** How an incident is rolled back: per-table rewind by load ids, or D1 Time Travel for the whole warehouse. */
export const rollbackModes = ['rewind', 'time-travel'] as const;
/** One of the rollback modes. */
export type RollbackMode = (typeof rollbackModes)[number];
