/**
 * The entries of a key index found by their record fingerprint (key-index.ts), each taken at
 * most once: an open-addressing table of entry numbers over plain number arrays, so a million
 * entries cost a few arrays and no object or string key each. The index text is the judge of
 * equality (`matches`): a slot's entry is the one asked for when its fingerprint, in the text,
 * is that fingerprint; the table's own hash (30 bits of the fingerprint) only narrows the search.
 */
export interface FingerprintTable {
  add(fingerprint: string, place: number): void;
  /** The place of an entry of that fingerprint not taken yet, now taken; undefined when there is none. */
  take(fingerprint: string): number | undefined;
  /** Every entry added, in order, with whether it was taken. */
  entries(): Iterable<{ place: number; taken: boolean }>;
}

const base64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const sixBits = new Int8Array(128).fill(0);
for (let i = 0; i < base64.length; i++) sixBits[base64.charCodeAt(i)] = i;

/** 30 bits of a base64 fingerprint (its first five characters): uniform, as sha256's are. */
function hashOf(fingerprint: string): number {
  let h = 0;
  for (let i = 0; i < 5; i++) h = (h << 6) | sixBits[fingerprint.charCodeAt(i) & 127]!;
  return h;
}

export function createFingerprintTable(matches: (place: number, fingerprint: string) => boolean): FingerprintTable {
  const places: number[] = [];
  const hashes: number[] = [];
  const taken: boolean[] = [];
  let slots = new Int32Array(1024).fill(-1);
  let mask = slots.length - 1;

  const slotFor = (h: number): number => {
    let i = h & mask;
    while (slots[i] !== -1) i = (i + 1) & mask;
    return i;
  };
  const grow = () => {
    slots = new Int32Array(slots.length * 2).fill(-1);
    mask = slots.length - 1;
    for (let e = 0; e < places.length; e++) slots[slotFor(hashes[e]!)] = e;
  };

  return {
    add(fingerprint, place) {
      if ((places.length + 1) * 2 > slots.length) grow();
      const h = hashOf(fingerprint);
      slots[slotFor(h)] = places.length;
      places.push(place);
      hashes.push(h);
      taken.push(false);
    },
    take(fingerprint) {
      const h = hashOf(fingerprint);
      for (let i = h & mask; slots[i] !== -1; i = (i + 1) & mask) {
        const e = slots[i]!;
        if (hashes[e] === h && !taken[e] && matches(places[e]!, fingerprint)) {
          taken[e] = true;
          return places[e];
        }
      }
      return undefined;
    },
    *entries() {
      for (let e = 0; e < places.length; e++) yield { place: places[e]!, taken: taken[e]! };
    },
  };
}
