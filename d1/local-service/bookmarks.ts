import { randomBytes } from 'node:crypto';

/**
 * Time Travel bookmarks of the local D1 service, in D1's shape: four hex groups of 8, 8, 8 and
 * 32 digits (`00000085-0000024c-00004c6d-8e61…` on Cloudflare). Here they are the seconds since
 * the epoch, the milliseconds, a sequence and a random tail, so like Cloudflare's they sort
 * lexicographically by the time they were taken. Bookmarks of earlier releases of this service
 * (`<ms, 16 hex>-<seq, 8 hex>-<random, 16 hex>`) are still read, and sort before these.
 */
const bookmarkPattern = /^([0-9a-f]{8})-([0-9a-f]{8})-([0-9a-f]{8})-([0-9a-f]{32})$/;
const earlierBookmarkPattern = /^([0-9a-f]{16})-([0-9a-f]{8})-([0-9a-f]{16})$/;

let sequence = 0;

/** A new bookmark for a snapshot taken at `at`. */
export function newBookmark(at: Date): string {
  sequence = (sequence + 1) % 0x1_0000_0000;
  const ms = at.getTime();
  const hex8 = (n: number) => n.toString(16).padStart(8, '0');
  return `${hex8(Math.floor(ms / 1000))}-${hex8(ms % 1000)}-${hex8(sequence)}-${randomBytes(16).toString('hex')}`;
}

/** True when `text` has the shape of a local bookmark (safe to use as a directory name). */
export function isBookmark(text: string): boolean {
  return bookmarkPattern.test(text) || earlierBookmarkPattern.test(text);
}

/** The time a bookmark was taken. */
export function bookmarkTime(bookmark: string): Date {
  const match = bookmarkPattern.exec(bookmark);
  if (match) return new Date(Number.parseInt(match[1]!, 16) * 1000 + Number.parseInt(match[2]!, 16));
  const earlier = earlierBookmarkPattern.exec(bookmark);
  if (!earlier) throw new Error(`not a bookmark: ${bookmark}`);
  return new Date(Number.parseInt(earlier[1]!, 16));
}

/** The latest bookmark taken at or before `at`, from a list in any order. */
export function latestAtOrBefore(bookmarks: readonly string[], at: Date): string | undefined {
  return [...bookmarks]
    .filter((b) => bookmarkTime(b).getTime() <= at.getTime())
    .sort()
    .at(-1);
}
