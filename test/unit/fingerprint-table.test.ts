import { describe, expect, it } from 'vitest';
import { createFingerprintTable } from '../../activities/fingerprint-table.ts';

/** A table over an index text of fixed-width fingerprints, one per place: what key-index.ts gives it. */
function tableOver(fingerprints: string[]) {
  const table = createFingerprintTable((place, fingerprint) => fingerprints[place] === fingerprint);
  fingerprints.forEach((fingerprint, place) => table.add(fingerprint, place));
  return table;
}

describe('createFingerprintTable', () => {
  it('finds each entry by its own fingerprint, once, however many share the first characters the table hashes', () => {
    // Same first five characters: the same slot chain; only the full fingerprint tells them apart.
    const fingerprints = ['AAAAAxxxxxxxxxxxxxxxx1', 'AAAAAyyyyyyyyyyyyyyyy2', 'AAAAAzzzzzzzzzzzzzzzz3'];
    const table = tableOver(fingerprints);
    expect(table.take('AAAAAyyyyyyyyyyyyyyyy2')).toBe(1);
    expect(table.take('AAAAAyyyyyyyyyyyyyyyy2')).toBeUndefined();
    expect(table.take('AAAAAwwwwwwwwwwwwwwww9')).toBeUndefined();
    expect(table.take('AAAAAzzzzzzzzzzzzzzzz3')).toBe(2);
    expect([...table.entries()]).toEqual([
      { place: 0, taken: false },
      { place: 1, taken: true },
      { place: 2, taken: true },
    ]);
  });

  it('keeps an entry repeated in the index as two, each taken once', () => {
    const table = tableOver(['BBBBBqqqqqqqqqqqqqqqq1', 'BBBBBqqqqqqqqqqqqqqqq1']);
    expect(table.take('BBBBBqqqqqqqqqqqqqqqq1')).toBe(0);
    expect(table.take('BBBBBqqqqqqqqqqqqqqqq1')).toBe(1);
    expect(table.take('BBBBBqqqqqqqqqqqqqqqq1')).toBeUndefined();
  });

  it('still finds every entry after growing past its first size', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const fingerprints = Array.from({ length: 5000 }, (_, i) => `${alphabet[i % 64]}${alphabet[(i >> 6) % 64]}${alphabet[(i >> 12) % 64]}CD${String(i).padStart(17, '0')}`);
    const table = tableOver(fingerprints);
    const found = fingerprints.map((fingerprint) => table.take(fingerprint));
    expect(found).toEqual(fingerprints.map((_, place) => place));
    expect([...table.entries()].every((entry) => entry.taken)).toBe(true);
  });
});
