import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { BusinessValue } from '../contracts/row-schema.ts';
import type { TableContract } from '../contracts/types.ts';
import { createDigest, type RowsDigest } from '../history/current-digest.ts';
import type { NasLayout } from './nas.ts';

/**
 * The key index of a full snapshot: every valid row's key and row hash, one `key<TAB>hash` line
 * each (the key as a JSON array of its values), written by validation beside the spool. The
 * next night's stage diffs its file against the index of the load the warehouse holds, and
 * sends D1 only what changed (stage.ts) — once the index's digest equals the digest D1 computes
 * over the table's current rows. A work file like the spool: when it is missing or does not
 * match, stage sends the whole file, as it always could.
 */
export interface KeyIndex {
  path: string;
  digest: RowsDigest;
}

/** `keys/<table>/<load id>.keys.tsv` under the NAS root. */
export function keyIndexPathFor(nas: NasLayout, table: string, loadId: string): string {
  return join(nas.keys, table, `${loadId}.keys.tsv`);
}

/** The key of a row whose values are in contract order, as the index writes it. */
export function keyOf(contract: TableContract, values: readonly BusinessValue[]): string {
  return JSON.stringify(keyPositions(contract).map((i) => values[i] ?? null));
}

/** Where a contract's key columns are among its columns. */
export function keyPositions(contract: TableContract): number[] {
  return contract.key.map((k) => contract.columns.findIndex((c) => c.name === k));
}

const flushBytes = 1 << 20;

/** Writes an index beside its final name and renames it at `finish`: an index that exists is complete. */
export async function createKeyIndexWriter(path: string): Promise<{ add(key: string, hash: string): Promise<void>; finish(): Promise<KeyIndex>; discard(): Promise<void> }> {
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.partial`;
  const handle: FileHandle = await open(partial, 'w');
  const digest = createDigest();
  let pending = '';
  let closed = false;
  const write = async () => {
    if (pending.length === 0) return;
    const chunk = pending;
    pending = '';
    await handle.write(chunk);
  };
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  return {
    async add(key, hash) {
      pending += `${key}\t${hash}\n`;
      digest.add(hash);
      if (pending.length >= flushBytes) await write();
    },
    async finish() {
      await write();
      await close();
      await rename(partial, path);
      return { path, digest: digest.value() };
    },
    async discard() {
      await close().catch(() => undefined);
      await rm(partial, { force: true });
    },
  };
}

/**
 * An index read whole: key → row hash, and the digest of what was read (which stage compares with
 * D1's before trusting it). Why not, when it cannot be read (`missing`, a malformed line).
 */
export async function readKeyIndex(path: string): Promise<{ hashes: Map<string, string>; digest: RowsDigest } | { unusable: string }> {
  const hashes = new Map<string, string>();
  const digest = createDigest();
  try {
    let line = 0;
    for await (const text of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
      line += 1;
      const tab = text.lastIndexOf('\t');
      const hash = text.slice(tab + 1);
      if (tab <= 0 || !/^[0-9a-f]{32}$/.test(hash)) return { unusable: `the key index ${path} is malformed at line ${line}` };
      hashes.set(text.slice(0, tab), hash);
      digest.add(hash);
    }
  } catch (error) {
    return { unusable: (error as NodeJS.ErrnoException).code === 'ENOENT' ? `there is no key index of that load (${path})` : `the key index cannot be read (${(error as Error).message})` };
  }
  return { hashes, digest: digest.value() };
}

/** Removes a table's key indexes older than `olderThanMs` (a table not loaded for that long is staged whole once). */
export async function pruneKeyIndexes(nas: NasLayout, table: string, olderThanMs: number, now = Date.now()): Promise<void> {
  const folder = join(nas.keys, table);
  for (const name of await readdir(folder).catch(() => [] as string[])) {
    const info = await stat(join(folder, name)).catch(() => undefined);
    if (info && now - info.mtimeMs > olderThanMs) await rm(join(folder, name), { force: true });
  }
}
