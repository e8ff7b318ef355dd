import { Transform, type TransformCallback } from 'node:stream';
import type { Dialect } from '../contracts/types.ts';

/**
 * Records an earlier file of the table held, valid, byte for byte: what scanExport need not parse
 * again (validate's, from the key index of the load the warehouse holds; snapshot-diff.ts).
 */
export interface KnownRecords {
  /** The file's header line, without its record delimiter: whether records of this file may be recognised. */
  header(text: string): boolean;
  /**
   * A one-line record's text, without its record delimiter: its control-total values (units, in
   * `contract.controlTotals` order) when it is a valid record of the earlier file not met yet in
   * this one; undefined otherwise, and the record is parsed.
   */
  recognise(text: string): readonly bigint[] | undefined;
  /** Awaited after each chunk of the file (back-pressure for whatever `recognise` writes). */
  settle(): Promise<void>;
}

/**
 * Between the decoder and the CSV parser: each recognised record is left out, and every other
 * byte passes unchanged, so what the parser sees, and refuses, is what it would have seen;
 * `fileLine` turns a line number the parser counts into the file's (the lines left out added
 * back). A line is a candidate only where the parser starts a record: the header ended with
 * the dialect's record delimiter (so the parser, which takes the first line ending it meets for
 * the file's, keeps that one; parserKeepsDelimiter), the line before ended with it, and every
 * quote opened before is closed (an even count of quote characters so far). A candidate must
 * itself end with the delimiter and hold an even count of quotes, so it is a whole record on one
 * line; a record spanning lines is always parsed. `onKnown` is called for each record left out,
 * with its control values.
 */
export function skippingKnownRecords(
  known: KnownRecords,
  dialect: Pick<Dialect, 'recordDelimiter' | 'quote'>,
  onKnown: (controls: readonly bigint[]) => void,
  maxLineChars: number,
): { stream: Transform; fileLine(parserLine: number): number } {
  const delimiter = dialect.recordDelimiter;
  const quote = dialect.quote;
  const leftOut = createLineMap();
  let pending = '';
  let sawHeader = false;
  let enabled = false;
  let insideQuotes = false;
  let atRecordStart = false;
  // Whole lines passed to the parser so far.
  let linesPassed = 0;
  // A line longer than maxLineChars passes through in parts (it is never a candidate).
  let inLongLine = false;

  const quotesIn = (text: string): number => {
    let count = 0;
    for (let at = text.indexOf(quote); at >= 0; at = text.indexOf(quote, at + 1)) count += 1;
    return count;
  };
  const passed = (text: string, ended: boolean): string => {
    if (quotesIn(text) % 2 === 1) insideQuotes = !insideQuotes;
    atRecordStart = !insideQuotes && ended;
    return text;
  };
  const line = (text: string): string => {
    const ended = text.endsWith(delimiter);
    if (!sawHeader) {
      sawHeader = true;
      enabled = parserKeepsDelimiter(text, delimiter) && known.header(text.slice(0, -delimiter.length));
    } else if (inLongLine) {
      inLongLine = false;
    } else if (enabled && atRecordStart && ended && quotesIn(text) % 2 === 0) {
      const controls = known.recognise(text.slice(0, -delimiter.length));
      if (controls) {
        onKnown(controls);
        leftOut.add(linesPassed);
        return '';
      }
    }
    linesPassed += 1;
    return passed(text, ended);
  };

  const stream = new Transform({
    readableObjectMode: true,
    writableObjectMode: true,
    transform(chunk: string, _encoding, done: TransformCallback) {
      const text = pending + chunk;
      let out = '';
      let start = 0;
      for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
        out += line(text.slice(start, end + 1));
        start = end + 1;
      }
      pending = text.slice(start);
      if (pending.length > maxLineChars) {
        // Not a record worth remembering: let the parser meet it (and refuse it) as it would have.
        out += passed(pending, false);
        pending = '';
        inLongLine = true;
        sawHeader = true; // a header that long is refused (export-reader.ts); nothing is recognised
      }
      known.settle().then(() => done(null, out.length > 0 ? out : undefined), done);
    },
    flush(done: TransformCallback) {
      done(null, pending.length > 0 ? pending : undefined);
    },
  });
  return { stream, fileLine: (parserLine) => parserLine + leftOut.before(parserLine) };
}

/**
 * The lines left out of the parser's input, as runs: after `passed` lines had gone through,
 * `total` lines had been left out in all. Appended in order; looked up by binary search.
 */
function createLineMap(): { add(passed: number): void; before(parserLine: number): number } {
  const passedAt: number[] = [];
  const totals: number[] = [];
  return {
    add(passed) {
      const last = passedAt.length - 1;
      if (last >= 0 && passedAt[last] === passed) totals[last]! += 1;
      else {
        passedAt.push(passed);
        totals.push((totals[last] ?? 0) + 1);
      }
    },
    /** Lines left out before parser line `parserLine` (1-based): those of runs after fewer lines than it. */
    before(parserLine) {
      let low = 0;
      let high = passedAt.length; // first run with passedAt >= parserLine
      while (low < high) {
        const mid = (low + high) >> 1;
        if (passedAt[mid]! < parserLine) low = mid + 1;
        else high = mid;
      }
      return low === 0 ? 0 : totals[low - 1]!;
    },
  };
}

/**
 * Whether the parser, reading this header line, settles on `delimiter` as the file's record
 * delimiter: csv-parse takes the first `\r\n`, `\n` or `\r` it meets. Only `\r\n` (Sodiwin's)
 * and `\n` are recognised line by line.
 */
function parserKeepsDelimiter(header: string, delimiter: string): boolean {
  if (delimiter === '\r\n') return header.endsWith('\r\n') && header.indexOf('\r') === header.length - 2;
  if (delimiter === '\n') return header.endsWith('\n') && !header.includes('\r');
  return false;
}
