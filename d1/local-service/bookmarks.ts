import { randomBytes } from 'node:crypto';

/**
 * Time Travel bookmarks of the local D1 service: `<ms since epoch, 16 hex>-<seq, 8 hex>-<random, 16 hex>`.
 * Like Cloudflare's, they sort lexicographically by the time they were taken.
 */
const bookmarkPattern = /^([0-9a-f]{16})-([0-9a-f]{8})-([0-9a-f]{16})$/;

let sequence = 0;

/** A new bookmark for a snapshot taken at `at`. */
export function newBookmark(at: Date): string {
  sequence = (sequence + 1) % 0x1_0000_0000;
  const ms = at.getTime().toString(16).padStart(16, '0');
  const seq = sequence.toString(16).padStart(8, '0');
  return `${ms}-${seq}-${randomBytes(8).toString('hex')}`;
}

/** True when `text` has the shape of a local bookmark (safe to use as a directory name). */
export function isBookmark(text: string): boolean {
  return bookmarkPattern.test(text);
}

/** The time a bookmark was taken. */
export function bookmarkTime(bookmark: string): Date {
  const match = bookmarkPattern.exec(bookmark);
  if (!match) throw new Error(`not a bookmark: ${bookmark}`);
  return new Date(Number.parseInt(match[1]!, 16));
}

/** The latest bookmark taken at or before `at`, from a list in any order. */
export function latestAtOrBefore(bookmarks: readonly string[], at: Date): string | undefined {
  return [...bookmarks]
    .filter((b) => bookmarkTime(b).getTime() <= at.getTime())
    .sort()
    .at(-1);
}
