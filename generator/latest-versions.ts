import { closeSync, createReadStream, openSync, rmSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { TableContract } from '../contracts/types.ts';
import type { CsvValue } from './csv.ts';

const FLUSH_AT = 1 << 20;

/**
 * The latest version of every key of a delta table, over years of simulated days, without
 * holding the rows: each version is appended to a spool file as one JSON line, and only
 * the position of each key's last version stays in memory. `rows` then reads the spool
 * once and yields each key's last version, in the order those versions were written.
 * A dump of 15 million rows thus costs memory for its keys, not for its rows.
 */
export class LatestVersions {
  private readonly fd: number;
  private readonly lastPosition = new Map<string, number>();
  private buffer: string[] = [];
  private buffered = 0;
  private written = 0;
  private closed = false;
  private readonly spoolPath: string;
  private readonly keyIndexes: readonly number[];

  constructor(spoolPath: string, contract: TableContract) {
    this.spoolPath = spoolPath;
    this.keyIndexes = contract.key.map((k) => contract.columns.findIndex((c) => c.name === k));
    this.fd = openSync(spoolPath, 'w');
  }

  /** Records a version; a later one of the same key replaces it. */
  add(values: readonly CsvValue[]): void {
    if (this.closed) throw new Error(`${this.spoolPath}: versions added after reading began`);
    const line = JSON.stringify(values);
    this.buffer.push(line, '\n');
    this.buffered += line.length + 1;
    this.lastPosition.set(this.keyOf(values), this.written++);
    if (this.buffered >= FLUSH_AT) this.flush();
  }

  /** Each key's last version, once; then the spool file is removed. */
  async *rows(): AsyncGenerator<CsvValue[]> {
    this.flush();
    this.close();
    const lines = createInterface({ input: createReadStream(this.spoolPath, 'utf8'), crlfDelay: Infinity });
    let position = 0;
    try {
      for await (const line of lines) {
        const values = JSON.parse(line) as CsvValue[];
        if (this.lastPosition.get(this.keyOf(values)) === position) yield values;
        position++;
      }
    } finally {
      lines.close();
      rmSync(this.spoolPath, { force: true });
    }
  }

  /** Closes and removes the spool whatever happened (idempotent). */
  discard(): void {
    this.close();
    rmSync(this.spoolPath, { force: true });
  }

  private close(): void {
    if (!this.closed) closeSync(this.fd);
    this.closed = true;
  }

  private keyOf(values: readonly CsvValue[]): string {
    return this.keyIndexes.map((k) => String(values[k])).join('|');
  }

  private flush(): void {
    if (this.buffered === 0) return;
    writeSync(this.fd, this.buffer.join(''));
    this.buffer = [];
    this.buffered = 0;
  }
}
