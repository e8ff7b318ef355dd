/**
 * Date arithmetic on ISO business dates (`YYYY-MM-DD`), in UTC so no time zone can shift a
 * day. Pure: used by workflows, the CLI and the generator alike.
 */

const dayMs = 86_400_000;

/** `date` plus `days` (negative to go back). */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * dayMs).toISOString().slice(0, 10);
}

/** Whole days from `a` to `b` (positive when b is later). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / dayMs);
}
