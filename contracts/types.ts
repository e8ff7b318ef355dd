/**
 * The shape of a table contract: everything the warehouse knows about one Sodiwin
 * export, as data. Adding a column or a table is an edit of one module under
 * contracts/tables/. Pure: importable from workflows.
 */

/** How a source value is read and how the warehouse stores it. */
export type ColumnType =
  /** Free text, trimmed; stored as TEXT. */
  | { kind: 'text'; maxLength: number }
  /** Whole number, no separators; stored as INTEGER. */
  | { kind: 'integer'; min?: number; max?: number }
  /**
   * Decimal comma in the file (`1234,50`, optional leading `-`), at most `scale` decimals; stored exactly as INTEGER
   * whole units of 10^-scale in `<name>_units` (history/stored-columns.ts), reconciled at that scale. `hashScale`: the scale the row hash was first computed at, set when `scale` is widened, so rows loaded
   * before keep their hash (activities/row-hash.ts).
   */
  | { kind: 'decimal'; scale: number; min?: number; hashScale?: number }
  /** `dd/mm/yyyy` in the file; stored as ISO `YYYY-MM-DD` TEXT. */
  | { kind: 'date' }
  /** One of a closed list of codes; stored as TEXT. */
  | { kind: 'enum'; values: readonly string[] };

/** One column: its French source header, its warehouse name and its rules. */
export interface ColumnContract {
  /** Header in Sodiwin's file, French upper case, e.g. `CODE_CLIENT`. */
  source: string;
  /** Warehouse column, snake_case English, e.g. `customer_code`. */
  name: string;
  type: ColumnType;
  /** An empty field is an error (always true for key columns). */
  required: boolean;
  /** What the column means, for the contract reference and the analysts. */
  description: string;
  /**
   * Set on a column added to a table that already had history: the first business date whose file carries it
   * (`YYYY-MM-DD`, or `YYYY-MM` for the whole month). Rows loaded before it hold NULL there, and its NULL is left out
   * of the row hash and the checksum so theirs stay the same (contracts/hashed-values.ts). An archived file of an
   * earlier business date, replayed by a rewind or a rebuild, may lack it and is read with NULL there
   * (activities/header-layout.ts). `warehouse migrate` refuses to add a column without it.
   */
  addedIn?: string;
  /**
   * Headers Sodiwin used for this column before `source`, oldest first, e.g. `['NOM']` once `NOM` became `LIBELLE`:
   * an archived file with an earlier header is read, by position, as this column. `warehouse migrate` refuses a
   * renamed header that is not listed here (history/contract-diff.ts).
   */
  previousSources?: readonly string[];
}

/** Everything about one table of the nightly export. */
export interface TableContract {
  /** Warehouse table name, snake_case, e.g. `customers`. */
  table: string;
  description: string;
  /** Sodiwin's file name for a business date; `{yyyymmdd}` is replaced, e.g. `CLIENTS_{yyyymmdd}.csv`. */
  filePattern: string;
  /** `full`: the file is the whole current state; `delta`: new and changed rows only. */
  mode: 'full' | 'delta';
  /** Warehouse names of the key columns. */
  key: readonly string[];
  /** Columns in Sodiwin's order (the header must match it exactly, but for the earlier headers of archived files). */
  columns: readonly ColumnContract[];
  /** Numeric columns whose sums over the file must equal the sums loaded (verify). */
  controlTotals: readonly string[];
  /** Full snapshots only: a file with fewer than this fraction of yesterday's rows is suspicious. */
  minRowRatio?: number;
}

/** Sodiwin's export dialect. */
export interface Dialect {
  encoding: 'windows-1252' | 'utf-8';
  delimiter: string;
  recordDelimiter: string;
  quote: string;
  decimalSeparator: string;
  /** Date format, documented; the parser is in contracts/values.ts. */
  dateFormat: 'dd/mm/yyyy';
}

/** The default Sodiwin dialect (DESIGN §8). */
export const sodiwinDialect: Dialect = {
  encoding: 'windows-1252',
  delimiter: ';',
  recordDelimiter: '\r\n',
  quote: '"',
  decimalSeparator: ',',
  dateFormat: 'dd/mm/yyyy',
};

/** The file name of a table's export for a business date (`YYYY-MM-DD`). */
export function exportFileName(contract: TableContract, businessDate: string): string {
  return contract.filePattern.replace('{yyyymmdd}', businessDate.replaceAll('-', ''));
}
