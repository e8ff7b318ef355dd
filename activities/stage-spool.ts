import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { BusinessValue } from '../contracts/row-schema.ts';
import type { NasLayout } from './nas.ts';
import type { SpooledDiff } from './snapshot-diff.ts';

/**
 * The rows validation parsed, kept for stage so the file is parsed once: one JSON array per
 * valid line, `[line, ...values in contract order, row hash]`. Validation names the spool with
 * its digest and row count; stage sends it only when both still hold, and parses the archived
 * file otherwise. A spool is a work file: stage removes it once the rows are in D1.
 */
export interface StageSpool {
  path: string;
  sha256: string;
  rows: number;
  /** Set when the spool holds a full snapshot's changes only (snapshot-diff.ts): then it cannot serve as the whole file. */
  diff?: SpooledDiff;
}

/** One spooled row: its line in the file, its normalised values in contract order, its row hash. */
export interface SpooledRow {
  line: number;
  values: BusinessValue[];
  hash: string;
}

/** `spool/<date>/<load id>.rows.jsonl` under the NAS root. */
export function spoolPathFor(nas: NasLayout, businessDate: string, loadId: string): string {
  return join(nas.spool, businessDate, `${loadId}.rows.jsonl`);
}

const flushBytes = 1 << 20;

/** Writes a spool beside its final name and renames it at `finish`: a spool that exists is complete. */
export async function createSpoolWriter(path: string): Promise<{ add(row: SpooledRow): Promise<void>; finish(diff?: SpooledDiff): Promise<StageSpool>; discard(): Promise<void> }> {
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.partial`;
  const handle: FileHandle = await open(partial, 'w');
  const digest = createHash('sha256');
  let pending = '';
  let rows = 0;
  let closed = false;
  const write = async () => {
    if (pending.length === 0) return;
    const chunk = Buffer.from(pending);
    pending = '';
    digest.update(chunk);
    await handle.write(chunk);
  };
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  return {
    async add(row) {
      pending += `${JSON.stringify([row.line, ...row.values, row.hash])}\n`;
      rows += 1;
      if (pending.length >= flushBytes) await write();
    },
    async finish(diff) {
      await write();
      await close();
      await rename(partial, path);
      return { path, sha256: spoolDigestText(digest.digest('hex'), diff !== undefined), rows, ...(diff ? { diff } : {}) };
    },
    async discard() {
      await close().catch(() => undefined);
      await rm(partial, { force: true });
    },
  };
}

/**
 * The spool's rows, when it is there whole: same digest, same count, each line a JSON array of
 * `columns + 2` fields. Otherwise why not (`missing`, `digest differs`, …), for stage's log.
 */
export async function openSpool(spool: StageSpool, columns: number): Promise<{ rows: AsyncIterable<SpooledRow> } | { unusable: string }> {
  // Read as a stream: a spool of a million rows is not held in memory for its digest.
  const digest = createHash('sha256');
  try {
    for await (const chunk of createReadStream(spool.path)) digest.update(chunk as Buffer);
  } catch (error) {
    return { unusable: (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'the spool is gone' : `the spool cannot be read (${(error as Error).message})` };
  }
  if (spoolDigestText(digest.digest('hex'), spool.diff !== undefined) !== spool.sha256) return { unusable: 'the spool differs from what validation wrote (digest)' };
  return { rows: readRows(spool, columns) };
}

/**
 * The spool's digest as validation names it: a diff spool's is marked `diff:`, so that a stage of
 * a release before diff spools (a worker of each running side by side) finds it differs and
 * parses the archived file whole, rather than taking a file's changes for the whole file.
 */
function spoolDigestText(sha256: string, diff: boolean): string {
  return diff ? `diff:${sha256}` : sha256;
}

/** The spool's rows, a chunk at a time: the next chunk is read once the rows before it are taken. */
async function* readRows(spool: StageSpool, columns: number): AsyncIterable<SpooledRow> {
  let count = 0;
  let rest = '';
  const decoder = new StringDecoder('utf8');
  const rowOf = (text: string): SpooledRow => {
    const fields = JSON.parse(text) as unknown[];
    if (!Array.isArray(fields) || fields.length !== columns + 2 || typeof fields[0] !== 'number') throw new Error(`spool ${spool.path}: line ${count + 1} is not a spooled row`);
    count += 1;
    return { line: fields[0], values: fields.slice(1, -1) as BusinessValue[], hash: String(fields.at(-1)) };
  };
  for await (const chunk of createReadStream(spool.path)) {
    const lines = (rest + decoder.write(chunk as Buffer)).split('\n');
    rest = lines.pop()!;
    for (const text of lines) if (text.length > 0) yield rowOf(text);
  }
  rest += decoder.end();
  if (rest.length > 0) yield rowOf(rest);
  if (count !== spool.rows) throw new Error(`spool ${spool.path}: ${count} rows, validation wrote ${spool.rows}`);
}

/**
 * Removes spools left by loads that never reached stage (deferred, refused later, abandoned)
 * once they are older than `olderThanMs`, with the date folders they empty.
 */
export async function pruneSpools(nas: NasLayout, olderThanMs: number, now = Date.now()): Promise<void> {
  const dates = await readdir(nas.spool).catch(() => [] as string[]);
  for (const date of dates) {
    const folder = join(nas.spool, date);
    const names = await readdir(folder).catch(() => [] as string[]);
    let kept = 0;
    for (const name of names) {
      const info = await stat(join(folder, name)).catch(() => undefined);
      if (info && now - info.mtimeMs > olderThanMs) await rm(join(folder, name), { force: true });
      else kept += 1;
    }
    if (kept === 0) await rm(folder, { recursive: true, force: true });
  }
}

/** Removes a spool once its rows are staged (a missing one is fine). */
export async function removeSpool(spool: StageSpool): Promise<void> {
  await rm(spool.path, { force: true });
}
