import type { ColumnContract, ColumnType } from './types.ts';

/**
 * Small builders that keep the table modules readable: one line per column, source
 * header first, then the warehouse name, then what it means.
 */

/** Options shared by every column builder. */
interface ColumnOptions {
  /** An empty field is accepted (stored as NULL). Columns are required unless said otherwise. */
  optional?: boolean;
  /** The column joined a table that already had history (see ColumnContract.addedIn). */
  addedIn?: string;
  /** Headers Sodiwin used for the column before (see ColumnContract.previousSources). */
  previousSources?: readonly string[];
}

function column(source: string, name: string, type: ColumnType, description: string, options: ColumnOptions = {}): ColumnContract {
  return { source, name, type, required: !options.optional, description, ...(options.addedIn ? { addedIn: options.addedIn } : {}),
    ...(options.previousSources ? { previousSources: options.previousSources } : {}) };
}

/** A code or free text of at most `maxLength` characters. */
export const text = (source: string, name: string, maxLength: number, description: string, options?: ColumnOptions) =>
  column(source, name, { kind: 'text', maxLength }, description, options);

/** A whole number. */
export const integer = (source: string, name: string, description: string, bounds: { min?: number; max?: number } = {}, options?: ColumnOptions) =>
  column(source, name, { kind: 'integer', ...bounds }, description, options);

/** A decimal-comma number with at most `scale` decimals. */
export const decimal = (source: string, name: string, scale: number, description: string, bounds: { min?: number } = {}, options?: ColumnOptions) =>
  column(source, name, { kind: 'decimal', scale, ...bounds }, description, options);

/** A `dd/mm/yyyy` date. */
export const date = (source: string, name: string, description: string, options?: ColumnOptions) => column(source, name, { kind: 'date' }, description, options);

/** One of a closed list of codes. */
export const oneOf = (source: string, name: string, values: readonly string[], description: string, options?: ColumnOptions) =>
  column(source, name, { kind: 'enum', values }, description, options);
