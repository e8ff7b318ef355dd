import type { ControlStatement } from './statement.ts';

/**
 * etl_probe: the wiring probe's own table (one row per probe id), created by the probe itself
 * since it proves a warehouse that may hold nothing else. Pure builders.
 */

/** The probe row written (created with its table if need be). */
export function writeProbeStatements(probeId: string, note: string, writtenAt: string): ControlStatement[] {
  return [
    { sql: 'CREATE TABLE IF NOT EXISTS etl_probe (probe_id TEXT PRIMARY KEY, note TEXT NOT NULL, written_at TEXT NOT NULL)', params: [] },
    { sql: 'INSERT INTO etl_probe (probe_id, note, written_at) VALUES (?, ?, ?) ON CONFLICT (probe_id) DO UPDATE SET note = excluded.note', params: [probeId, note, writtenAt] },
  ];
}

/** The probe row read back, with how many probes the warehouse holds. */
export function readProbeQuery(probeId: string): ControlStatement {
  return { sql: 'SELECT probe_id, note, written_at, (SELECT count(*) FROM etl_probe) AS probes FROM etl_probe WHERE probe_id = ?', params: [probeId] };
}
