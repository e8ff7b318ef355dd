import { log } from '@temporalio/activity';
import type { BusinessValue, NormalisedRow } from '../contracts/row-schema.ts';
import type { Dialect, TableContract } from '../contracts/types.ts';
import type { RowsDigest } from '../history/current-digest.ts';
import { absentKeyLine, deltaSentinelLine } from '../history/merge.ts';
import { createKeyIndexWriter, keyIndexPathFor, keyOf, keyPositions, readKeyIndex, recordFingerprint, recordGuard, type HeldIndex, type KeyIndex } from './key-index.ts';
import type { KnownRecords } from './known-records.ts';
import type { NasLayout } from './nas.ts';
import type { SpooledRow } from './stage-spool.ts';

/** A full snapshot spooled as its changes against the file of the load the warehouse holds (DESIGN §5). */
export interface SpooledDiff {
  /** The load whose key index the file was diffed against (the table's watermark when validation began). */
  against: string;
  /** The digest of that load's file: what stage checks D1's current rows against before sending the diff. */
  heldDigest: RowsDigest;
  /** Records byte for byte those of the held file (known-records.ts): neither parsed nor spooled. */
  rowsUnchanged: number;
  /** Keys the held file has that this one no longer has: spooled as keys, tombstoned by the merge. */
  keysAbsent: number;
}

/** What validation does with a full snapshot's rows: the diff against the held file, and this file's key index. */
export interface SnapshotDiff {
  /** For scanExport: the held file's records, recognised without parsing. */
  known: KnownRecords;
  /** A valid row parsed: indexed; true when it is to be spooled (new, changed, or no diff). */
  row(row: NormalisedRow, values: readonly BusinessValue[], hash: string, text: string | undefined): Promise<boolean>;
  /** After the scan: the spool's closing rows (absent keys, then the diff's mark) and what the spool holds. */
  finish(): Promise<{ keyIndex: KeyIndex; closingRows: SpooledRow[]; diff?: SpooledDiff; abandoned?: string }>;
  discard(): Promise<void>;
}

/**
 * Validation's side of the keyed diff. The file is diffed against the key index of the load
 * the warehouse holds (`heldLoadId`, its watermark), when there is one and its bytes are those
 * recorded with that load (`heldKeyIndexSha256`): a record whose text
 * is in the index (under the same guard) is that row again, neither parsed nor spooled; every
 * other row is parsed and spooled (one whose content is unchanged under another text opens no
 * version in the merge). The keys of the index neither met are absent from the file. Whether
 * D1 still holds that file is stage's to check (stage.ts), by the index's digest. A key the
 * file repeats abandons the diff: stage then sends the whole file from the archive, and its
 * duplicate-key check names the lines. Without an index, every row is spooled. Either way this
 * file's index is written, for the next night.
 */
export async function openSnapshotDiff(input: { nas: NasLayout; contract: TableContract; dialect: Dialect; businessDate: string; loadId: string; heldLoadId: string | undefined; heldKeyIndexSha256: string | undefined }): Promise<SnapshotDiff> {
  const { contract } = input;
  const held = input.heldLoadId === undefined
    ? { unusable: 'the table holds no load yet' }
    : input.heldLoadId === input.loadId
      // Validated again after its own publish (its local steps ran again once a worker died): staged whole, and publish reverts what it wrote first.
      ? { unusable: `the table holds this load already (${input.loadId}): a load is never diffed against itself` }
      : await readKeyIndex(keyIndexPathFor(input.nas, contract.table, input.heldLoadId), input.heldKeyIndexSha256);
  const basis: HeldIndex | undefined = 'unusable' in held ? undefined : held;
  if ('unusable' in held) log.info('spooling the whole snapshot', { table: contract.table, businessDate: input.businessDate, loadId: input.loadId, why: held.unusable });
  const writer = await createKeyIndexWriter(keyIndexPathFor(input.nas, contract.table, input.loadId));
  const controlNames = contract.controlTotals;
  const positions = keyPositions(contract);
  // Keys of the rows parsed (the held file's taken entries are marked in `basis`).
  const parsed = new Set<string>();
  let repeated: string | undefined;
  let rowsUnchanged = 0;

  const known: KnownRecords = {
    header(text) {
      const guard = recordGuard({ contract, dialect: input.dialect, header: text, businessDate: input.businessDate });
      writer.guard(guard);
      return basis?.guard === guard;
    },
    recognise(text) {
      // Taken already (the file repeats the record): parsed, and found out at the end.
      const entry = basis?.take(recordFingerprint(text));
      if (!entry) return undefined;
      writer.copy(entry);
      rowsUnchanged += 1;
      return entry.controls === '' ? [] : entry.controls.split(',').map(BigInt);
    },
    settle: () => writer.drain(),
  };

  return {
    known,
    async row(row, values, hash, text) {
      // scanExport gives the text whenever it is given `known`; without it the entry could not be recognised.
      if (text === undefined) throw new Error(`key index of ${contract.table} ${input.businessDate}: a parsed row came without its text`);
      const key = keyOf(contract, values);
      if (parsed.has(key)) repeated ??= key;
      parsed.add(key);
      writer.add({ fingerprint: recordFingerprint(text), key, hash, controls: controlNames.map((name) => String(row[name] ?? 0)).join(',') });
      await writer.drain();
      // Spooled even when its hash is the held one (its text differs): the merge opens no version for it.
      return true;
    },
    async finish() {
      const keyIndex = await writer.finish();
      if (!basis) return { keyIndex, closingRows: [] };
      const closingRows: SpooledRow[] = [];
      for (const { key, taken } of basis.keys()) {
        // A key recognised unparsed and parsed too: the file has it twice.
        if (taken && parsed.has(key)) repeated ??= key;
        else if (!taken && !parsed.has(key)) closingRows.push({ line: absentKeyLine(closingRows.length + 1), values: absentKeyValues(contract.columns.length, positions, key), hash: '' });
      }
      // The spool lacks the rows not sent: it cannot serve as the whole file either.
      if (repeated !== undefined) return { keyIndex, closingRows: [], abandoned: `the file repeats key ${repeated}` };
      const keysAbsent = closingRows.length;
      // Sent last: a stage cut short holds no mark, and the merge never takes a partial diff for a whole one.
      closingRows.push({ line: deltaSentinelLine, values: contract.columns.map(() => null), hash: `diff against ${input.heldLoadId}` });
      return { keyIndex, closingRows, diff: { against: input.heldLoadId!, heldDigest: basis.digest, rowsUnchanged, keysAbsent } };
    },
    discard: () => writer.discard(),
  };
}

/** A stage row's business values for an absent key: the key's values in place, NULL elsewhere. */
function absentKeyValues(columnCount: number, positions: number[], key: string): BusinessValue[] {
  const values: BusinessValue[] = Array.from({ length: columnCount }, () => null);
  (JSON.parse(key) as BusinessValue[]).forEach((value, i) => (values[positions[i]!] = value));
  return values;
}
