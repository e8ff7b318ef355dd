import { describe, it, expect } from 'vitest';
import { bookmarkTime, isBookmark, latestAtOrBefore, newBookmark } from '../../d1/local-service/bookmarks.ts';

describe('local Time Travel bookmarks', () => {
  it('sort lexicographically in the order they were taken, even within one millisecond', () => {
    const at = new Date('2026-11-20T02:00:00Z');
    const taken = [newBookmark(at), newBookmark(at), newBookmark(new Date('2026-11-20T03:00:00Z')), newBookmark(new Date('2027-01-01T00:00:00Z'))];
    expect([...taken].sort()).toEqual(taken);
    expect(taken.every(isBookmark)).toBe(true);
  });

  it('carry the time they were taken', () => {
    const at = new Date('2026-03-29T01:30:00.123Z');
    expect(bookmarkTime(newBookmark(at))).toEqual(at);
  });

  it('resolve a timestamp to the latest bookmark at or before it', () => {
    const b1 = newBookmark(new Date('2026-11-18T03:00:00Z'));
    const b2 = newBookmark(new Date('2026-11-19T03:00:00Z'));
    const b3 = newBookmark(new Date('2026-11-20T03:00:00Z'));
    expect(latestAtOrBefore([b3, b1, b2], new Date('2026-11-19T12:00:00Z'))).toBe(b2);
    expect(latestAtOrBefore([b3, b1, b2], new Date('2026-11-19T03:00:00Z'))).toBe(b2);
    expect(latestAtOrBefore([b3, b1, b2], new Date('2026-11-17T00:00:00Z'))).toBeUndefined();
  });

  it("have D1's shape (8-8-8-32 hex digits), and still read the earlier local shape, which sorts first", () => {
    const bookmark = newBookmark(new Date('2026-11-20T02:00:00.250Z'));
    expect(bookmark).toMatch(/^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/);
    const earlier = `${new Date('2026-11-19T02:00:00.5Z').getTime().toString(16).padStart(16, '0')}-00000001-0123456789abcdef`;
    expect(isBookmark(earlier)).toBe(true);
    expect(bookmarkTime(earlier)).toEqual(new Date('2026-11-19T02:00:00.5Z'));
    expect([bookmark, earlier].sort()).toEqual([earlier, bookmark]);
    expect(latestAtOrBefore([bookmark, earlier], new Date('2026-11-19T12:00:00Z'))).toBe(earlier);
  });

  it('reject names that are not bookmarks (they become directory names)', () => {
    expect(isBookmark('../../etc')).toBe(false);
    expect(isBookmark('00000085-0000024c-00004c6d')).toBe(false);
    expect(isBookmark('00000085-0000024c-00004c6d-8e61/../../etc/passwd0000000000')).toBe(false);
  });
});
