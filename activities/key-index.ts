import { createHash, hash } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BusinessValue } from '../contracts/row-schema.ts';
import type { Dialect, TableContract } from '../contracts/types.ts';
import { createDigest, type RowsDigest } from '../history/current-digest.ts';
import { predatesColumn } from './header-layout.ts';
import { createFingerprintTable } from './fingerprint-table.ts';
import type { NasLayout } from './nas.ts';

/**
 * The key index of a full snapshot: for every valid record, the fingerprint of its text as in the
 * file, its key, its row hash and its control-total values, one tab-separated line each, after a
 * first line naming the format and the guard under which the fingerprints hold. Validation writes
 * it; the next night's validation reads the index of the load the warehouse holds, recognises the
 * records that are byte for byte the same without parsing them again (known-records.ts), and
 * spools only what changed (snapshot-diff.ts), which stage sends once the index's digest equals
 * the digest D1 computes over the table's current rows. The sha256 of its bytes is recorded with
 * its load (etl_loads.key_index_sha256) and checked when it is read: the fingerprints are what no
 * D1 digest covers, so an index edited in `keys/` is not used. A work file like the spool: when it
 * is missing, of another format, not the one recorded or does not match, the whole file is staged,
 * as it always could be.
 */
export interface KeyIndex {
  path: string;
  digest: RowsDigest;
  /** Of the index file's bytes, for etl_loads. */
  sha256: string;
}

/** One valid record of an indexed file. */
export interface IndexEntry {
  /** recordFingerprint of the record's text. */
  fingerprint: string;
  /** keyOf the record's values. */
  key: string;
  hash: string;
  /** The record's control-total values, in units, in `contract.controlTotals` order, comma-separated. */
  controls: string;
}

/**
 * The index of the file the warehouse holds, read whole, each entry taken at most once: what
 * validation diffs a new file against (snapshot-diff.ts). Held as the file's text in blocks and
 * a table of where each entry's line is (fingerprint-table.ts), so a million entries cost a few
 * arrays of numbers, not a million objects.
 */
export interface HeldIndex {
  /** The guard its fingerprints were written under (recordGuard). */
  guard: string;
  /** The digest of its row hashes, as read (what stage compares with D1's). */
  digest: RowsDigest;
  /** The entry of a fingerprint not taken yet, now taken, with its line as written; undefined otherwise. */
  take(fingerprint: string): (IndexEntry & { line: string }) | undefined;
  /** The key of every entry, and whether it was taken. */
  keys(): Iterable<{ key: string; taken: boolean }>;
}

const formatLine = '#sodimo-key-index 2';

/** `keys/<table>/<load id>.keys.tsv` under the NAS root. */
export function keyIndexPathFor(nas: NasLayout, table: string, loadId: string): string {
  return join(nas.keys, table, `${loadId}.keys.tsv`);
}

/** The key of a row whose values are in contract order, as the index writes it (JSON: no tab, no line break). */
export function keyOf(contract: TableContract, values: readonly BusinessValue[]): string {
  return JSON.stringify(keyPositions(contract).map((i) => values[i] ?? null));
}

/** Where a contract's key columns are among its columns. */
export function keyPositions(contract: TableContract): number[] {
  return contract.key.map((k) => contract.columns.findIndex((c) => c.name === k));
}

/** The fingerprint of a record's text as in the file (decoded, without its record delimiter): 128 bits of sha256. */
export function recordFingerprint(text: string): string {
  return hash('sha256', text, 'base64').slice(0, 22);
}

/**
 * What a record's text means depends on more than its text: the contract (types, rules, order),
 * the dialect, the file's header line, which columns the file's business date predates
 * (header-layout.ts) and the code that reads and checks a record (readerCode). A fingerprint
 * recognises a record only between two files of one guard.
 */
export function recordGuard(input: { contract: TableContract; dialect: Dialect; header: string; businessDate: string }): string {
  const predating = input.contract.columns.filter((c) => predatesColumn(c, input.businessDate)).map((c) => c.name);
  return hash('sha256', JSON.stringify([formatLine, readerCode(), input.contract, input.dialect, input.header, predating]), 'hex');
}

/**
 * The digest of the source that turns a record's text into a valid row, its hash and its
 * control values: the contracts and their parsers, the shared helpers, and the reader's
 * activities. A release that changes any of them recognises nothing on its first night (every
 * record is parsed and checked by the new code), and each night after recognises again.
 */
const readerSources = ['contracts', 'contracts/tables', 'common', 'activities/export-reader.ts', 'activities/header-layout.ts', 'activities/row-validator.ts', 'activities/row-hash.ts', 'activities/known-records.ts', 'activities/key-index.ts'];
let readerCodeDigest: string | undefined;
function readerCode(): string {
  if (readerCodeDigest !== undefined) return readerCodeDigest;
  const root = fileURLToPath(new URL('..', import.meta.url));
  const files = readerSources.flatMap((source) => {
    const path = join(root, source);
    return source.endsWith('.ts') ? [path] : readdirSync(path).filter((name) => name.endsWith('.ts')).sort().map((name) => join(path, name));
  });
  readerCodeDigest = hash('sha256', files.map((file) => `${relative(root, file)}\n${readFileSync(file, 'utf8')}`).join('\u0000'), 'hex');
  return readerCodeDigest;
}

/** One entry as its index line. */
function entryLine(entry: IndexEntry): string {
  return `${entry.fingerprint}\t${entry.key}\t${entry.hash}\t${entry.controls}\n`;
}

const flushBytes = 1 << 20;

/** An index being written: `add` buffers, `drain` writes once enough is buffered. */
export interface KeyIndexWriter {
  /** The guard line, once the header is read; before any entry. */
  guard(guard: string): void;
  add(entry: IndexEntry): void;
  /** An entry of the held index again, its line as written there. */
  copy(entry: IndexEntry & { line: string }): void;
  drain(): Promise<void>;
  finish(): Promise<KeyIndex>;
  discard(): Promise<void>;
}

/** Writes an index beside its final name and renames it at `finish`: an index that exists is complete. */
export async function createKeyIndexWriter(path: string): Promise<KeyIndexWriter> {
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.partial`;
  const handle: FileHandle = await open(partial, 'w');
  const digest = createDigest();
  const bytes = createHash('sha256');
  let pending = '';
  let guarded = false;
  let closed = false;
  const write = async () => {
    if (pending.length === 0) return;
    const chunk = Buffer.from(pending, 'utf8');
    pending = '';
    bytes.update(chunk);
    await handle.write(chunk);
  };
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  return {
    guard(guard) {
      pending += `${formatLine}\t${guard}\n`;
      guarded = true;
    },
    add(entry) {
      if (!guarded) throw new Error(`key index ${path}: an entry before the guard line`);
      pending += entryLine(entry);
      digest.add(entry.hash);
    },
    copy(entry) {
      if (!guarded) throw new Error(`key index ${path}: an entry before the guard line`);
      pending += entry.line;
      digest.add(entry.hash);
    },
    async drain() {
      if (pending.length >= flushBytes) await write();
    },
    async finish() {
      if (!guarded) throw new Error(`key index ${path}: no guard line`);
      await write();
      await close();
      await rename(partial, path);
      return { path, digest: digest.value(), sha256: bytes.digest('hex') };
    },
    async discard() {
      await close().catch(() => undefined);
      await rm(partial, { force: true });
    },
  };
}

/** Characters of index text per block (an entry's place is block × blockChars + offset, a safe integer). */
const blockChars = 2 ** 26;
/** Bytes read at a time; a block is cut at the last line break. */
const readBytes = 16 << 20;
const fingerprintChars = 22;
const hashChars = 32;

/**
 * An index read whole, or why it cannot serve: none recorded with its load (`sha256` undefined), missing,
 * not the bytes recorded, of another format, a malformed line.
 */
export async function readKeyIndex(path: string, sha256: string | undefined): Promise<HeldIndex | { unusable: string }> {
  if (sha256 === undefined) return { unusable: `no key index was recorded with that load (${path})` };
  const bytesRead = createHash('sha256');
  const blocks: string[] = [];
  const textAt = (place: number) => blocks[Math.floor(place / blockChars)]!;
  const table = createFingerprintTable((place, fingerprint) => textAt(place).startsWith(fingerprint, place % blockChars));
  const digest = createDigest();
  let guard: string | undefined;
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    // Sized to the file (a small table's index is a few KiB), filled by each read before use.
    const buffer = Buffer.allocUnsafe(Math.max(1, Math.min(readBytes, (await handle.stat()).size)));
    let carried = Buffer.alloc(0);
    let line = 0;
    for (;;) {
      const { bytesRead: read } = await handle.read({ buffer, position: null });
      if (read === 0) {
        // The writer ends every line: an index that does not was not written by it.
        if (carried.length > 0) return { unusable: `the key index ${path} ends in the middle of a line` };
        break;
      }
      bytesRead.update(buffer.subarray(0, read));
      const bytes = Buffer.concat([carried, buffer.subarray(0, read)]);
      const cut = bytes.lastIndexOf(0x0a) + 1;
      if (bytes.length - cut > blockChars) return { unusable: `the key index ${path} has a line longer than ${blockChars} bytes` };
      carried = Buffer.from(bytes.subarray(cut));
      if (cut > 0) {
        const text = bytes.toString('utf8', 0, cut);
        const block = blocks.length;
        blocks.push(text);
        for (let at = 0; at < text.length; ) {
          const lineEnd = text.indexOf('\n', at); // a block ends with a line break
          line += 1;
          if (guard === undefined) {
            const fields = text.slice(at, lineEnd).split('\t');
            if (fields[0] !== formatLine || fields.length !== 2) return { unusable: `the key index ${path} is of an earlier format` };
            guard = fields[1]!;
          } else {
            const keyEnd = text.indexOf('\t', at + fingerprintChars + 1);
            const hashEnd = keyEnd + 1 + hashChars;
            if (text[at + fingerprintChars] !== '\t' || keyEnd < 0 || keyEnd > lineEnd || text[hashEnd] !== '\t' || !isHash(text, keyEnd + 1) || !controlsPattern.test(text.slice(hashEnd + 1, lineEnd))) {
              return { unusable: `the key index ${path} is malformed at line ${line}` };
            }
            table.add(text.slice(at, at + fingerprintChars), block * blockChars + at);
            digest.add(text.slice(keyEnd + 1, hashEnd));
          }
          at = lineEnd + 1;
        }
      }
    }
  } catch (error) {
    return { unusable: (error as NodeJS.ErrnoException).code === 'ENOENT' ? `there is no key index of that load (${path})` : `the key index cannot be read (${(error as Error).message})` };
  } finally {
    await handle?.close();
  }
  // Checked after the whole file is read: these bytes, and only these, are the index held.
  const actual = bytesRead.digest('hex');
  if (actual !== sha256) return { unusable: `the key index ${path} is not the one recorded with its load (sha256 ${actual}, recorded ${sha256})` };
  if (guard === undefined) return { unusable: `the key index ${path} is empty` };
  const entryAt = (place: number): IndexEntry & { line: string } => {
    const text = textAt(place);
    const at = place % blockChars;
    const keyEnd = text.indexOf('\t', at + fingerprintChars + 1);
    const lineEnd = text.indexOf('\n', keyEnd);
    return {
      fingerprint: text.slice(at, at + fingerprintChars),
      key: text.slice(at + fingerprintChars + 1, keyEnd),
      hash: text.slice(keyEnd + 1, keyEnd + 1 + hashChars),
      controls: text.slice(keyEnd + 2 + hashChars, lineEnd),
      line: text.slice(at, lineEnd + 1),
    };
  };
  return {
    guard,
    digest: digest.value(),
    take(fingerprint) {
      const place = table.take(fingerprint);
      return place === undefined ? undefined : entryAt(place);
    },
    *keys() {
      for (const { place, taken } of table.entries()) {
        const text = textAt(place);
        const at = place % blockChars;
        yield { key: text.slice(at + fingerprintChars + 1, text.indexOf('\t', at + fingerprintChars + 1)), taken };
      }
    },
  };
}

/** An entry's control values: whole numbers of units, comma-separated (none for a table without control totals). */
const controlsPattern = /^(-?\d+(,-?\d+)*)?$/;

/** Whether `text` holds 32 lower-case hex digits from `at`. */
function isHash(text: string, at: number): boolean {
  for (let i = at; i < at + hashChars; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** Removes a table's key indexes older than `olderThanMs` (a table not loaded for that long is staged whole once). */
export async function pruneKeyIndexes(nas: NasLayout, table: string, olderThanMs: number, now = Date.now()): Promise<void> {
  const folder = join(nas.keys, table);
  for (const name of await readdir(folder).catch(() => [] as string[])) {
    const info = await stat(join(folder, name)).catch(() => undefined);
    if (info && now - info.mtimeMs > olderThanMs) await rm(join(folder, name), { force: true });
  }
}
