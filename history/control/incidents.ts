import { holdingIncidentStatuses } from '../../common/control-statuses.ts';
import type { D1Param } from '../../d1/client.ts';
import { incidentHoldsTable } from '../incident-tables.ts';
import type { ControlStatement } from './statement.ts';
import { statusIn } from './statement.ts';

/**
 * etl_incidents and etl_deferred_loads: an incident opened (once), alerted, approved, resolved;
 * the later days it holds back. Statuses are IncidentStatus (common/control-statuses.ts). Pure
 * builders.
 */

const holding = statusIn(holdingIncidentStatuses);

/** An incident opened (a second call does nothing). */
export function openIncidentStatement(input: { incidentId: string; table: string; businessDate: string; errorType: string; errorDetail: string; workflowId: string; now: string; quarantineDir: string | null; tables?: readonly string[] }): ControlStatement {
  return {
    sql: `INSERT INTO etl_incidents (incident_id, table_name, business_date, status, error_type, error_detail, workflow_id, opened_at, quarantine_dir, tables_json)
         VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?, ?) ON CONFLICT (incident_id) DO NOTHING`,
    params: [input.incidentId, input.table, input.businessDate, input.errorType, input.errorDetail, input.workflowId, input.now, input.quarantineDir, input.tables ? JSON.stringify(input.tables) : null],
  };
}

/** The alert went out, and how. */
export function noteAlertStatement(incidentId: string, via: string, now: string): ControlStatement {
  return { sql: 'UPDATE etl_incidents SET alert_via = ?, alert_sent_at = ? WHERE incident_id = ?', params: [via, now, incidentId] };
}

/**
 * An incident approved by `approver` in `mode`. With `decisionKey`, only while it holds its
 * tables and only if that decision is recorded as accepted in etl_approvals (same batch).
 */
export function markApprovedStatement(input: { incidentId: string; approver: string | null; mode: string | null; decisionKey?: string }): ControlStatement {
  const base: D1Param[] = [input.approver, input.mode, input.incidentId];
  if (input.decisionKey === undefined) return { sql: "UPDATE etl_incidents SET status = 'approved', approved_by = ?, rollback_mode = ? WHERE incident_id = ?", params: base };
  return {
    sql: `UPDATE etl_incidents SET status = 'approved', approved_by = ?, rollback_mode = ? WHERE incident_id = ? AND status ${holding}
              AND EXISTS (SELECT 1 FROM etl_approvals WHERE decision_key = ? AND accepted = 1)`,
    params: [...base, input.decisionKey],
  };
}

/** The incident's repair loaded every day. */
export function resolveIncidentStatement(incidentId: string, now: string): ControlStatement {
  return { sql: "UPDATE etl_incidents SET status = 'resolved', closed_at = ? WHERE incident_id = ?", params: [now, incidentId] };
}

/** The earliest incident holding a table back: its own, or a night incident that lists it. */
export function incidentHoldingQuery(table: string): ControlStatement {
  return {
    sql: `SELECT incident_id, business_date FROM etl_incidents i WHERE ${incidentHoldsTable('i', '?1')} AND status ${holding} ORDER BY business_date, incident_id LIMIT 1`,
    params: [table],
  };
}

/** The incidents holding tables back, oldest first, with the tables each holds. */
export function holdingIncidentsQuery(): ControlStatement {
  return { sql: `SELECT incident_id, table_name, tables_json FROM etl_incidents WHERE status ${holding} ORDER BY business_date`, params: [] };
}

/** The 50 latest incidents, those holding tables first (`warehouse incidents`). */
export function recentIncidentsQuery(): ControlStatement {
  return { sql: `SELECT * FROM etl_incidents ORDER BY CASE WHEN status ${holding} THEN 0 ELSE 1 END, opened_at DESC LIMIT 50`, params: [] };
}

/** A validated, archived export an incident holds back (the latest file of that table and night wins). */
export function recordDeferralStatement(input: { incidentId: string; table: string; businessDate: string; loadId: string; archivePath: string; now: string }): ControlStatement {
  return {
    sql: `INSERT INTO etl_deferred_loads (incident_id, table_name, business_date, load_id, archive_path, deferred_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (incident_id, table_name, business_date) DO UPDATE SET load_id = excluded.load_id, archive_path = excluded.archive_path, deferred_at = excluded.deferred_at`,
    params: [input.incidentId, input.table, input.businessDate, input.loadId, input.archivePath, input.now],
  };
}

/**
 * The days, within `windowDays` up to `expected`, that some table loaded and one of `tables`
 * did not, with no incident holding it back (`warehouse status --check`).
 */
export function unaccountedDaysQuery(tables: readonly string[], expected: string, windowDays: number): ControlStatement {
  return {
    sql: `WITH tables(table_name) AS (VALUES ${tables.map(() => '(?)').join(', ')}),
       nights AS (SELECT DISTINCT business_date FROM etl_loads WHERE status = 'verified' AND business_date > date(?, '-${Math.trunc(windowDays)} days') AND business_date <= ?)
     SELECT t.table_name, n.business_date FROM tables t CROSS JOIN nights n
     WHERE NOT EXISTS (SELECT 1 FROM etl_loads l WHERE l.table_name = t.table_name AND l.business_date = n.business_date AND l.status = 'verified')
       AND NOT EXISTS (SELECT 1 FROM etl_incidents i WHERE ${incidentHoldsTable('i', 't.table_name')} AND i.status ${holding} AND i.business_date <= n.business_date)
     ORDER BY n.business_date, t.table_name`,
    params: [...tables, expected, expected],
  };
}
