/**
 * Calendar arithmetic in the warehouse's time zone (default Europe/Paris): which business
 * date a run scheduled at an instant loads, and when a night's export is overdue. Pure and
 * deterministic (no clock), so workflows use it too.
 */

import { addDays } from './business-dates.ts';

/** A local time of day, `HH:MM` or `HH:MM:SS`. */
export const timeOfDayPattern = /^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$/;

/** The business date a run scheduled at `instant` loads: the calendar day before the instant's local date in `timeZone`. */
export function businessDateFor(instant: Date, timeZone: string): string {
  const local = new Date(instant.getTime() + offsetAt(instant.getTime(), timeZone));
  return new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() - 1)).toISOString().slice(0, 10);
}

/** An instant as the zone's wall clock, `YYYY-MM-DD HH:MM` (for operators reading schedules). */
export function wallClock(instant: Date, timeZone: string): string {
  return new Date(instant.getTime() + offsetAt(instant.getTime(), timeZone)).toISOString().slice(0, 16).replace('T', ' ');
}

/**
 * An instant as an operator reads it in a message: the zone's wall clock and the zone's name,
 * `2026-03-05 06:00 Europe/Paris` (seconds only when there are some), never a bare UTC time
 * someone must convert at 07:00.
 */
export function operatorTime(instant: Date, timeZone: string): string {
  const local = new Date(instant.getTime() + offsetAt(instant.getTime(), timeZone)).toISOString();
  const seconds = local.slice(17, 19) === '00' ? '' : local.slice(16, 19);
  return `${local.slice(0, 16).replace('T', ' ')}${seconds} ${timeZone}`;
}

/** The instant at which `businessDate`'s export is overdue: `businessDate + 1 day` at `timeOfDay` in `timeZone`. */
export function exportDeadline(businessDate: string, timeOfDay: string, timeZone: string): Date {
  const time = timeOfDayPattern.exec(timeOfDay);
  if (!time) throw new Error(`time of day must be HH:MM[:SS], got "${timeOfDay}"`);
  const day = new Date(`${businessDate}T00:00:00Z`);
  if (Number.isNaN(day.getTime())) throw new Error(`business date must be YYYY-MM-DD, got "${businessDate}"`);
  const wallClock = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() + 1, Number(time[1]), Number(time[2]), Number(time[3] ?? 0));
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

/**
 * The latest business date whose export should be loaded by `now`: the latest date whose
 * export deadline, plus a grace for the load itself, has passed. `warehouse status --check`
 * holds every table to it.
 */
export function expectedLoadedThrough(now: Date, timeOfDay: string, timeZone: string, graceMs: number): string {
  let date = businessDateFor(now, timeZone);
  for (let i = 0; i < 3 && exportDeadline(date, timeOfDay, timeZone).getTime() + graceMs > now.getTime(); i++) {
    date = addDays(date, -1);
  }
  return date;
}
