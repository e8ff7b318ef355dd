import type { Migration } from './migrations.ts';

/**
 * The tables an incident holds back. Most incidents are one table's (`table_name`); a night
 * whose whole inbox is missing opens one incident for every table of the night, listed in
 * `tables_json`. Pure: the migration that adds the column, and the one SQL test every reader
 * of open incidents uses, so no consumer checks `table_name` alone.
 */

/**
 * 0004: night incidents. `etl_incidents.tables_json` (a JSON array of table names, NULL for a
 * one-table incident); `etl_deferred_loads` is keyed by table as well, since one incident
 * now defers several tables on the same later night.
 */
export const nightIncidentsMigration: Migration = {
  name: '0004_night_incidents',
  statements: [
    'ALTER TABLE etl_incidents ADD COLUMN tables_json TEXT CHECK (tables_json IS NULL OR json_valid(tables_json))',
    `CREATE TABLE etl_deferred_loads_0004 (
  incident_id TEXT NOT NULL,
  table_name TEXT NOT NULL,
  business_date TEXT NOT NULL,
  load_id TEXT NOT NULL,
  archive_path TEXT NOT NULL,
  deferred_at TEXT NOT NULL,
  PRIMARY KEY (incident_id, table_name, business_date)
)`,
    `INSERT INTO etl_deferred_loads_0004 (incident_id, table_name, business_date, load_id, archive_path, deferred_at)
SELECT incident_id, table_name, business_date, load_id, archive_path, deferred_at FROM etl_deferred_loads`,
    'DROP TABLE etl_deferred_loads',
    'ALTER TABLE etl_deferred_loads_0004 RENAME TO etl_deferred_loads',
  ],
};

/**
 * SQL condition: the etl_incidents row `alias` holds back the table given by the SQL
 * expression `table` (a parameter or a column): it is the incident's own table, or one of
 * the tables of a night incident.
 */
export function incidentHoldsTable(alias: string, table: string): string {
  return `(${alias}.table_name = ${table} OR EXISTS (SELECT 1 FROM json_each(${alias}.tables_json) WHERE json_each.value = ${table}))`;
}

/** The tables an etl_incidents row holds back, from its `table_name` and `tables_json`. */
export function tablesHeldBy(row: { table_name: string; tables_json?: string | null }): string[] {
  if (!row.tables_json) return [row.table_name];
  const tables: unknown = JSON.parse(row.tables_json);
  return Array.isArray(tables) ? tables.filter((t): t is string => typeof t === 'string') : [row.table_name];
}
