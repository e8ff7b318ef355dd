/**
 * When a night's export must be complete: the day after the business date, at a local
 * time of day in the warehouse's time zone (default 06:00 Europe/Paris). Pure and
 * deterministic (no clock), so workflows may use it too.
 */

/** A local time of day, `HH:MM`. */
export const timeOfDayPattern = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** The instant at which `businessDate`'s export is overdue: `businessDate + 1 day` at `timeOfDay` in `timeZone`. */
export function exportDeadline(businessDate: string, timeOfDay: string, timeZone: string): Date {
  const time = timeOfDayPattern.exec(timeOfDay);
  if (!time) throw new Error(`time of day must be HH:MM, got "${timeOfDay}"`);
  const day = new Date(`${businessDate}T00:00:00Z`);
  if (Number.isNaN(day.getTime())) throw new Error(`business date must be YYYY-MM-DD, got "${businessDate}"`);
  const wallClock = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() + 1, Number(time[1]), Number(time[2]));
  return new Date(localToUtc(wallClock, timeZone));
}

/**
 * The UTC instant whose wall-clock time in `timeZone` is `wallClock` (given as if it were UTC).
 * A wall-clock time skipped by a spring-forward change resolves to the instant just after it.
 */
function localToUtc(wallClock: number, timeZone: string): number {
  let guess = wallClock - offsetAt(wallClock, timeZone);
  const corrected = wallClock - offsetAt(guess, timeZone);
  if (corrected !== guess) guess = Math.max(guess, corrected);
  return guess;
}

/** The zone's offset from UTC at an instant, in milliseconds (Paris in winter: +3,600,000). */
function offsetAt(instant: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(instant / 1000) * 1000;
}
