/**
 * The states of the control rows, in one place: every status the code writes to etl_runs,
 * etl_loads and etl_incidents. Migration 0005 builds each table's `CHECK (status IN (…))`
 * from these lists, so a status the code does not know cannot be written. Pure.
 */

/** etl_runs.status: a nightly run, rebuild or backfill under way, or how it ended. */
export const runStatuses = ['running', 'ok', 'partial', 'failed'] as const;

/** A run's state (see `runStatuses`). */
export type RunStatus = (typeof runStatuses)[number];

/** How a run that ended went: every table loaded, some failed or held back, all failed. */
export type RunOutcome = Exclude<RunStatus, 'running'>;

/**
 * etl_loads.status, in the order a load goes through them: validating → staged → publishing →
 * published → verified; a backfill's load is `importing` until verified; a load held back by an
 * open incident is `deferred`, a rejected file `quarantined`; a failure is `failed` (nothing
 * written) or `reverted` (undone by load id); an incident's rewind leaves `rewound`.
 */
export const loadStatuses = ['validating', 'staged', 'publishing', 'published', 'verified', 'importing', 'deferred', 'quarantined', 'failed', 'reverted', 'rewound'] as const;

/** A load's state (see `loadStatuses`). */
export type LoadStatus = (typeof loadStatuses)[number];

/** etl_incidents.status: open (alerted, holding its tables back), approved (repair under way), resolved. */
export const incidentStatuses = ['open', 'approved', 'resolved'] as const;

/** An incident's state (see `incidentStatuses`). */
export type IncidentStatus = (typeof incidentStatuses)[number];

/** The incident states that hold a table's later nights back. */
export const holdingIncidentStatuses = ['open', 'approved'] as const satisfies readonly IncidentStatus[];

/** The load states whose versions are in history: what a rewind reverts. */
export const writtenLoadStatuses = ['verified', 'published', 'publishing'] as const satisfies readonly LoadStatus[];

/** The load states a whole-warehouse restore replays: the days that were loaded, held back or rejected. */
export const replayedLoadStatuses = ['verified', 'deferred', 'quarantined'] as const satisfies readonly LoadStatus[];

/** Loads that did not end verified and are not under way: what v_recent_failures lists. */
export const failedLoadStatuses = ['failed', 'reverted', 'quarantined'] as const satisfies readonly LoadStatus[];
