import type { TableContract } from '../../contracts/types.ts';
import type { D1Client } from '../../d1/client.ts';
import { keyDigest, keyString, type TableTruth } from '../../generator/truth.ts';

/** What `<t>_current` holds now: rows, key digest and control totals, computed from D1. */
export async function currentState(d1: D1Client, contract: TableContract): Promise<TableTruth['current']> {
  const keys = contract.key.map((k) => `"${k}"`).join(', ');
  const [rows] = await d1.query<Record<string, unknown>>(`SELECT ${keys} FROM "${contract.table}_current"`);
  const scale = (name: string) => {
    const type = contract.columns.find((c) => c.name === name)?.type;
    return type?.kind === 'decimal' ? type.scale : 0;
  };
  const sums = contract.controlTotals.map((c) => `ROUND(COALESCE(SUM("${c}"), 0), ${scale(c)}) AS "${c}"`).join(', ');
  const [totals] = sums ? await d1.query<Record<string, number>>(`SELECT ${sums} FROM "${contract.table}_current"`) : [undefined];
  const keyStrings = (rows?.results ?? []).map((r) => keyString(contract, r));
  return {
    rows: keyStrings.length,
    keyDigest: keyDigest(keyStrings),
    totals: Object.fromEntries(contract.controlTotals.map((c) => [c, Number(totals?.results[0]?.[c] ?? 0).toFixed(scale(c))])),
  };
}
