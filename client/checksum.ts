import { createHash } from 'node:crypto';
import type { TableContract } from '../contracts/types.ts';
import type { D1Client } from '../d1/client.ts';
import { checksumLine, checksumPageSql } from '../history/checksum.ts';

/** One table's fingerprint: versions, current rows and a content hash that ignores load ids. */
export interface TableChecksum {
  table: string;
  versions: number;
  current: number;
  sha256: string;
}

const pageSize = 5000;

/**
 * The checksum of one history table: every version's hash, validity and flags,
 * sorted and hashed, so two warehouses with the same history agree whatever their
 * load ids or version ids. An absent table has 0 versions and the empty hash.
 */
export async function tableChecksum(d1: Pick<D1Client, 'query'>, contract: TableContract): Promise<TableChecksum> {
  const [exists] = await d1.query<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?", [contract.table]);
  const lines: string[] = [];
  if ((exists?.results[0]?.n ?? 0) > 0) {
    let after = 0;
    for (;;) {
      const [page] = await d1.query<Record<string, unknown> & { _version_id: number }>(checksumPageSql(contract), [after, pageSize]);
      const rows = page?.results ?? [];
      for (const row of rows) lines.push(checksumLine(contract, row));
      if (rows.length < pageSize) break;
      after = rows.at(-1)!._version_id;
    }
  }
  lines.sort();
  const current = lines.length === 0 ? 0 : ((await d1.query<{ n: number }>(`SELECT count(*) AS n FROM "${contract.table}_current"`))[0]?.results[0]?.n ?? 0);
  // Hashed line by line: the lines of a multi-million-row table joined would pass V8's
  // longest string (about 512 MiB). Same digest as hashing them joined with '\n'.
  const hash = createHash('sha256');
  lines.forEach((line, i) => hash.update(i === 0 ? line : `\n${line}`));
  return { table: contract.table, versions: lines.length, current, sha256: hash.digest('hex') };
}
