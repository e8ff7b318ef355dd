import { formatDecimal } from '../../common/decimal.ts';
import type { TableContract } from '../../contracts/types.ts';
import type { D1Client } from '../../d1/client.ts';
import { keyDigest, keyString, type TableTruth } from '../../generator/truth.ts';
import { unitsColumn } from '../../history/stored-columns.ts';

/** What `<t>_current` holds now: rows, key digest and control totals (exact, from the stored units), computed from D1. */
export async function currentState(d1: D1Client, contract: TableContract): Promise<TableTruth['current']> {
  const keys = contract.key.map((k) => `"${k}"`).join(', ');
  const [rows] = await d1.query<Record<string, unknown>>(`SELECT ${keys} FROM "${contract.table}_current"`);
  const scale = (name: string) => {
    const type = contract.columns.find((c) => c.name === name)?.type;
    return type?.kind === 'decimal' ? type.scale : 0;
  };
  // What a reader runs for an exact total: the integer SUM of a decimal's units (as text: it may pass 2^53).
  const stored = (name: string) => (contract.columns.find((c) => c.name === name)?.type.kind === 'decimal' ? unitsColumn(name) : name);
  const sums = contract.controlTotals.map((c) => `CAST(COALESCE(SUM("${stored(c)}"), 0) AS TEXT) AS "${c}"`).join(', ');
  const [totals] = sums ? await d1.query<Record<string, string>>(`SELECT ${sums} FROM "${contract.table}_current"`) : [undefined];
  const keyStrings = (rows?.results ?? []).map((r) => keyString(contract, r));
  return {
    rows: keyStrings.length,
    keyDigest: keyDigest(keyStrings),
    totals: Object.fromEntries(contract.controlTotals.map((c) => [c, formatDecimal(BigInt(totals?.results[0]?.[c] ?? '0'), scale(c))])),
  };
}
