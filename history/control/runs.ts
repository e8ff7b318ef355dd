import type { RunOutcome } from '../../common/control-statuses.ts';
import type { ControlStatement } from './statement.ts';

/**
 * etl_runs and etl_bookmarks: a run begun (with the Time Travel bookmark taken before it) and
 * ended, and the bookmarks a rollback goes back to. Pure builders.
 */

/** A run starting (again, after a retry): the run row as `running` and the bookmark taken before it. */
export function beginRunStatements(input: { runId: string; businessDate: string; workflowId: string; tablesTotal: number; bookmark: string; now: string }): ControlStatement[] {
  return [
    {
      sql: `INSERT INTO etl_runs (run_id, business_date, workflow_id, started_at, status, bookmark, tables_total) VALUES (?, ?, ?, ?, 'running', ?, ?)
              ON CONFLICT (run_id) DO UPDATE SET started_at = excluded.started_at, status = 'running', bookmark = excluded.bookmark`,
      params: [input.runId, input.businessDate, input.workflowId, input.now, input.bookmark, input.tablesTotal],
    },
    { sql: 'INSERT OR REPLACE INTO etl_bookmarks (run_id, business_date, bookmark, taken_at) VALUES (?, ?, ?, ?)', params: [input.runId, input.businessDate, input.bookmark, input.now] },
  ];
}

/**
 * A run starting again that keeps the bookmark it recorded the first time (a backfill re-run
 * after its first import: a bookmark taken now would hold the imported rows).
 */
export function restartRunStatement(input: { runId: string; now: string }): ControlStatement {
  return { sql: "UPDATE etl_runs SET started_at = ?, status = 'running' WHERE run_id = ?", params: [input.now, input.runId] };
}

/** The bookmark a run recorded when it began (no row: the run never began). */
export function runBookmarkQuery(runId: string): ControlStatement {
  return { sql: 'SELECT bookmark FROM etl_runs WHERE run_id = ?', params: [runId] };
}

/** A run ending: how it went, its counts and its summary (JSON). */
export function finishRunStatement(input: { runId: string; status: RunOutcome; tablesOk: number; tablesFailed: number; summaryJson: string; now: string }): ControlStatement {
  return {
    sql: 'UPDATE etl_runs SET finished_at = ?, status = ?, tables_ok = ?, tables_failed = ?, summary_json = ? WHERE run_id = ?',
    params: [input.now, input.status, input.tablesOk, input.tablesFailed, input.summaryJson, input.runId],
  };
}

/** A bookmark as etl_bookmarks holds it. */
export interface BookmarkRow {
  bookmark: string;
  taken_at: string;
}

/** The first bookmark taken before a nightly run of that business date. */
export function bookmarkOfDateQuery(businessDate: string): ControlStatement {
  return { sql: 'SELECT bookmark, taken_at FROM etl_bookmarks WHERE business_date = ? ORDER BY taken_at LIMIT 1', params: [businessDate] };
}

/** The last bookmark taken at or before an instant (ISO). */
export function bookmarkAtOrBeforeQuery(instant: string): ControlStatement {
  return { sql: 'SELECT bookmark, taken_at FROM etl_bookmarks WHERE taken_at <= ? ORDER BY taken_at DESC LIMIT 1', params: [instant] };
}
