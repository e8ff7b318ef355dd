import { closeSync, openSync, writeSync } from 'node:fs';
import iconv from 'iconv-lite';
import { formatDecimal } from '../common/decimal.ts';
import type { ColumnContract, TableContract } from '../contracts/types.ts';
import { sodiwinDialect } from '../contracts/types.ts';
import { frenchDate } from './calendar.ts';

/**
 * Writing one Sodiwin export: header of source names, `;` separator, CRLF, quoting only
 * where needed, decimal comma with the column's exact scale, `dd/mm/yyyy` dates, NULL as
 * an empty field, Windows-1252. Rows are buffered and flushed in chunks, so memory stays
 * flat whatever the file size.
 *
 * A row is an array of typed values in the contract's column order:
 * text/enum → string, integer → number, decimal → integer in units of 10^-scale
 * (cents for scale 2, thousandths for scale 3), date → ISO `YYYY-MM-DD`, NULL → null.
 */
export type CsvValue = string | number | null;

const FLUSH_AT = 1 << 20;
const { delimiter, recordDelimiter, quote } = sodiwinDialect;
const needsQuotes = /[;"\r\n]/;

/** A text field, quoted (inner quotes doubled) when it holds a separator, a quote or a line break. */
export function quoteField(text: string): string {
  return needsQuotes.test(text) ? `${quote}${text.replaceAll(quote, quote + quote)}${quote}` : text;
}

function formatValue(column: ColumnContract, value: CsvValue): string {
  if (value === null) {
    if (column.required) throw new Error(`${column.source} is required`);
    return '';
  }
  switch (column.type.kind) {
    case 'decimal':
      return formatDecimal(value as number, column.type.scale, ',');
    case 'integer':
      return String(value);
    case 'date':
      return frenchDate(value as string);
    default:
      return quoteField(value as string);
  }
}

/** One export file being written. */
export class CsvWriter {
  readonly contract: TableContract;
  private readonly fd: number;
  private buffer: string[] = [];
  private buffered = 0;
  rows = 0;
  bytes = 0;

  constructor(path: string, contract: TableContract) {
    this.contract = contract;
    this.fd = openSync(path, 'w');
    this.push(contract.columns.map((c) => quoteField(c.source)).join(delimiter));
  }

  /** Appends one data row (typed values in column order). */
  write(values: readonly CsvValue[]): void {
    const { columns } = this.contract;
    if (values.length !== columns.length) throw new Error(`${this.contract.table}: ${values.length} values for ${columns.length} columns`);
    let line = '';
    for (let i = 0; i < columns.length; i++) line += (i === 0 ? '' : delimiter) + formatValue(columns[i]!, values[i]!);
    this.push(line);
    this.rows++;
  }

  private push(line: string): void {
    this.buffer.push(line, recordDelimiter);
    this.buffered += line.length + 2;
    if (this.buffered >= FLUSH_AT) this.flush();
  }

  private flush(): void {
    if (this.buffered === 0) return;
    const bytes = iconv.encode(this.buffer.join(''), 'win1252');
    writeSync(this.fd, bytes);
    this.bytes += bytes.length;
    this.buffer = [];
    this.buffered = 0;
  }

  /** Flushes what is left and closes the file. */
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}
