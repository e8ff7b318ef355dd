import type { TableContract } from '../contracts/types.ts';
import type { D1Statement } from '../d1/client.ts';
import { packInserts, quoteIdentifier as q, type SqlValue } from '../d1/pack.ts';
import { chunkMarkerSql, deleteChunkMarkersStatement } from './control/backfill-chunks.ts';
import { historyColumns } from './ddl.ts';
import { storedColumns } from './stored-columns.ts';

/**
 * The historical backfill's SQL (DESIGN §7), pure. The dump is the state on its as-of date,
 * so every row becomes one open version valid from that date, loaded by the table's
 * backfill load id. Rows travel as literal multi-row INSERTs in D1 import files; each import
 * file ends with its own marker row in `etl_backfill_chunks`, so a chunk and its marker land
 * together (an import is all or nothing) and a resumed backfill skips what is marked.
 */

/** The load id of a table's backfill: one per table and as-of date, so a resumed or re-run backfill keeps it. */
export function backfillLoadId(asOf: string, table: string): string {
  return `backfill_${asOf}_${table}`;
}

/** The workflow id of the backfill of a dump as of a date: one backfill per dump. */
export function backfillWorkflowId(asOf: string): string {
  return `backfill-${asOf}`;
}

/** One chunk of a dump file: its position and its rows, normalised and hashed. */
export interface BackfillChunk {
  contract: TableContract;
  loadId: string;
  asOf: string;
  file: string;
  /** 0-based index of the chunk in its file. */
  chunk: number;
  firstLine: number;
  lastLine: number;
  /** Business values in contract column order (a decimal as its units), then the row hash. */
  rows: { line: number; values: SqlValue[]; rowHash: string }[];
  /** When the chunk was built (the marker's `imported_at`). */
  at: string;
}

/**
 * The import file of one chunk: INSERTs of open versions into the history table, packed to
 * D1's 100,000 bytes per statement, then the chunk's marker. Literal SQL only (the import API
 * takes no parameters).
 */
export function backfillChunkSql(chunk: BackfillChunk): string {
  const { contract, loadId, asOf } = chunk;
  const columns = [...storedColumns(contract), ...historyColumns];
  const rows = chunk.rows.map((r) => [...r.values, asOf, null, 1, 0, r.rowHash, loadId, null]);
  const inserts = packInserts({ table: contract.table, columns, rows, mode: 'literal' }).map((s) => s.sql);
  const marker = chunkMarkerSql({ loadId, file: chunk.file, chunk: chunk.chunk, firstLine: chunk.firstLine, lastLine: chunk.lastLine, rows: chunk.rows.length, at: chunk.at });
  return `${[...inserts, marker].join(';\n')};\n`;
}

/**
 * Undoes a table's backfill: its versions, deleted a slice at a time (each statement stays
 * well inside D1's 30 s however large the table), then its chunk markers. Run the first
 * statement until it changes nothing, then the second.
 */
export function revertBackfillStatements(contract: TableContract, loadId: string, sliceRows = 50_000): { deleteSlice: D1Statement; deleteMarkers: D1Statement } {
  const t = q(contract.table);
  return {
    deleteSlice: { sql: `DELETE FROM ${t} WHERE _version_id IN (SELECT _version_id FROM ${t} WHERE _loaded_by = ? LIMIT ${sliceRows})`, params: [loadId] },
    deleteMarkers: deleteChunkMarkersStatement(loadId),
  };
}
