import { formatDecimal } from '../common/decimal.ts';
import type { D1Client } from '../d1/client.ts';

/** The as-of condition of DESIGN §5 on a history table aliased `h`, for a date bound twice. */
const asOf = (date: string) => ({ sql: 'h._valid_from <= ? AND (h._valid_to IS NULL OR h._valid_to > ?)', params: [date, date] });

const dayOf = (from: string, day: number) => new Date(Date.parse(`${from}T00:00:00Z`) + (day - 1) * 86_400_000).toISOString().slice(0, 10);

/**
 * A few questions only history can answer, asked of D1 after the demo week: a customer's
 * price list on day 2 and day 6, an order before and after its cancellation, a customer
 * who left and is kept as a tombstone.
 */
export async function historyAnswers(d1: Pick<D1Client, 'query'>, from: string, days: number): Promise<string> {
  const day2 = dayOf(from, 2);
  const day6 = dayOf(from, Math.min(6, days));
  const lines = ['Questions answered from history:'];

  const two = asOf(day2);
  const six = asOf(day6);
  const [priceLists] = await d1.query<{ customer_code: string; name: string; before: string; after: string }>(
    `SELECT a.customer_code, a.name, a.price_list_code AS before, b.price_list_code AS after
     FROM customers a JOIN customers b ON b.customer_code = a.customer_code
     WHERE ${two.sql.replaceAll('h.', 'a.')} AND ${six.sql.replaceAll('h.', 'b.')} AND a.price_list_code <> b.price_list_code AND a._is_deleted = 0 AND b._is_deleted = 0
     ORDER BY a.customer_code LIMIT 1`,
    [...two.params, ...six.params],
  );
  const change = priceLists?.results[0];
  lines.push(
    change
      ? `  Customer ${change.customer_code} (${change.name}) bought at price list ${change.before} on ${day2} and at ${change.after} on ${day6}.`
      : `  No customer changed price list between ${day2} and ${day6}.`,
  );

  const [cancelled] = await d1.query<{ order_no: string; customer_code: string; before: string; cancelled_on: string; total_units: number }>(
    `SELECT c.order_no, c.customer_code, p.status AS before, c._valid_from AS cancelled_on, c.total_excl_tax_units AS total_units
     FROM orders c JOIN orders p ON p.order_no = c.order_no AND p._valid_to = c._valid_from
     WHERE c.status = 'ANNULEE' ORDER BY c._valid_from, c.order_no LIMIT 1`,
  );
  const order = cancelled?.results[0];
  if (order) {
    lines.push(`  Order ${order.order_no} of ${order.customer_code} (${formatDecimal(order.total_units, 2)} € excl. VAT) was ${order.before} until ${order.cancelled_on}, then cancelled; both versions are kept, so revenue reported before that day is reproducible.`);
  }

  const [deleted] = await d1.query<{ customer_code: string; name: string; gone_on: string }>(
    "SELECT customer_code, name, _valid_from AS gone_on FROM customers WHERE _is_deleted = 1 ORDER BY _valid_from, customer_code LIMIT 1",
  );
  const gone = deleted?.results[0];
  if (gone) {
    lines.push(`  Customer ${gone.customer_code} (${gone.name}) vanished from Sodiwin's list on ${gone.gone_on}: no longer in customers_current, its history and a tombstone remain.`);
  }
  lines.push('  With the services up (--keep-running), try: warehouse query "SELECT customer_code, price_list_code, _valid_from, _valid_to FROM customers WHERE _valid_to IS NOT NULL LIMIT 5"');
  return lines.join('\n');
}
