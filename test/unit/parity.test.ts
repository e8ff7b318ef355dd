import { describe, expect, it } from 'vitest';
import { compareParity, differenceCount } from '../../client/parity.ts';
import { parityQueryFor } from '../../history/parity-queries.ts';

const stock = parityQueryFor('stock-by-depot')!;
const row = (depot: string, product: string, onHand: string, reserved: string) => ({ CODE_DEPOT: depot, CODE_ARTICLE: product, QTE_STOCK: onHand, QTE_RESERVEE: reserved });

describe('compareParity: Sodiwin screen against D1, key by key', () => {
  it('finds nothing when both sides say the same, whatever the row order', () => {
    const sodiwin = [row('LYON', 'A1', '1.000', '0.000'), row('PARIS', 'A1', '2.500', '1.000')];
    const diff = compareParity(stock, sodiwin, [...sodiwin].reverse());
    expect(diff).toEqual({ rowsCompared: 2, onlyInSodiwin: [], onlyInD1: [], different: [] });
    expect(differenceCount(diff)).toBe(0);
  });

  it('lists rows on one side only and every differing value under its composite key', () => {
    const diff = compareParity(
      stock,
      [row('LYON', 'A1', '1.000', '0.000'), row('LYON', 'B2', '3.000', '0.000'), row('PARIS', 'A1', '2.500', '1.000')],
      [row('LYON', 'A1', '1.000', '0.500'), row('PARIS', 'A1', '2.000', '1.000'), row('PARIS', 'C3', '7.000', '0.000')],
    );
    expect(diff).toEqual({
      rowsCompared: 2,
      onlyInSodiwin: ['LYON / B2'],
      onlyInD1: ['PARIS / C3'],
      different: [
        { key: 'LYON / A1', column: 'QTE_RESERVEE', sodiwin: '0.000', d1: '0.500' },
        { key: 'PARIS / A1', column: 'QTE_STOCK', sodiwin: '2.500', d1: '2.000' },
      ],
    });
    expect(differenceCount(diff)).toBe(4);
  });

  it('refuses a side with the same key twice', () => {
    expect(() => compareParity(stock, [row('LYON', 'A1', '1.000', '0.000'), row('LYON', 'A1', '1.000', '0.000')], [])).toThrow("Sodiwin's export has the key LYON / A1 twice");
  });
});
