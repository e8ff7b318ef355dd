import { sqlLiteral } from '../../d1/pack.ts';
import type { ControlStatement } from './statement.ts';

/**
 * etl_backfill_chunks: one marker per import file of the historical backfill that landed, so
 * a resumed backfill skips it. Pure builders.
 */

/** The marker ending a chunk's import file: literal SQL (the import API takes no parameters). */
export function chunkMarkerSql(marker: { loadId: string; file: string; chunk: number; firstLine: number; lastLine: number; rows: number; at: string }): string {
  const values = [marker.loadId, marker.file, marker.chunk, marker.firstLine, marker.lastLine, marker.rows, marker.at].map(sqlLiteral).join(', ');
  return `INSERT INTO etl_backfill_chunks (load_id, file, chunk, first_line, last_line, rows, imported_at) VALUES (${values})`;
}

/** The chunks of a file a backfill already imported. */
export function appliedChunksQuery(loadId: string, file: string): ControlStatement {
  return { sql: 'SELECT chunk FROM etl_backfill_chunks WHERE load_id = ? AND file = ? ORDER BY chunk', params: [loadId, file] };
}

/** A load's chunk markers removed (its backfill undone). */
export function deleteChunkMarkersStatement(loadId: string): ControlStatement {
  return { sql: 'DELETE FROM etl_backfill_chunks WHERE load_id = ?', params: [loadId] };
}

/** The rows the chunks of these loads imported. */
export function rowsImportedQuery(loadIds: readonly string[]): ControlStatement {
  return { sql: `SELECT coalesce(sum(rows), 0) AS n FROM etl_backfill_chunks WHERE load_id IN (${loadIds.map(() => '?').join(', ')})`, params: [...loadIds] };
}
