/** Date arithmetic on ISO business dates (`YYYY-MM-DD`), in UTC so no time zone can shift a day. */

export { addDays, daysBetween } from '../common/business-dates.ts';

/** The last day of the month of `date`. */
export function endOfMonth(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).toISOString().slice(0, 10);
}

/** `2026-01-31` → `31/01/2026`. */
export function frenchDate(iso: string): string {
  return `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}`;
}
