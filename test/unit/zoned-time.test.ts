import { describe, expect, it } from 'vitest';
import { businessDateFor, expectedLoadedThrough, exportDeadline, operatorTime, wallClock } from '../../common/zoned-time.ts';

describe('exportDeadline: the day after the business date, at a local time of day', () => {
  it('is 06:00 Paris time the next morning, in winter (UTC+1) and in summer (UTC+2)', () => {
    expect(exportDeadline('2026-01-14', '06:00', 'Europe/Paris').toISOString()).toBe('2026-01-15T05:00:00.000Z');
    expect(exportDeadline('2026-07-14', '06:00', 'Europe/Paris').toISOString()).toBe('2026-07-15T04:00:00.000Z');
  });

  it('follows the clock changes of 2026-03-29 and 2026-10-25', () => {
    expect(exportDeadline('2026-03-27', '06:00', 'Europe/Paris').toISOString()).toBe('2026-03-28T05:00:00.000Z');
    expect(exportDeadline('2026-03-28', '06:00', 'Europe/Paris').toISOString()).toBe('2026-03-29T04:00:00.000Z');
    expect(exportDeadline('2026-10-23', '06:00', 'Europe/Paris').toISOString()).toBe('2026-10-24T04:00:00.000Z');
    expect(exportDeadline('2026-10-24', '06:00', 'Europe/Paris').toISOString()).toBe('2026-10-25T05:00:00.000Z');
  });

  it('takes a time skipped by the spring change as the hour after it', () => {
    expect(exportDeadline('2026-03-28', '02:30', 'Europe/Paris').toISOString()).toBe('2026-03-29T01:30:00.000Z');
  });

  it('takes seconds when given', () => {
    expect(exportDeadline('2026-01-14', '06:00:30', 'Europe/Paris').toISOString()).toBe('2026-01-15T05:00:30.000Z');
  });

  it('works across month and year ends and in other zones', () => {
    expect(exportDeadline('2026-12-31', '06:00', 'UTC').toISOString()).toBe('2027-01-01T06:00:00.000Z');
    expect(exportDeadline('2024-02-28', '23:59', 'America/New_York').toISOString()).toBe('2024-03-01T04:59:00.000Z');
  });

  it('refuses a malformed time or date', () => {
    expect(() => exportDeadline('2026-01-14', '6h', 'Europe/Paris')).toThrow('time of day must be HH:MM[:SS], got "6h"');
    expect(() => exportDeadline('14/01/2026', '06:00', 'Europe/Paris')).toThrow('business date must be YYYY-MM-DD');
  });
});

describe('businessDateFor: a run loads the previous calendar day of its local date', () => {
  it('takes the local date in Paris, not the UTC date', () => {
    // 00:30 in Paris on 15 January is still 14 January in UTC.
    expect(businessDateFor(new Date('2026-01-14T23:30:00Z'), 'Europe/Paris')).toBe('2026-01-14');
    expect(businessDateFor(new Date('2026-01-15T02:00:00Z'), 'Europe/Paris')).toBe('2026-01-14');
    expect(businessDateFor(new Date('2026-01-01T02:00:00Z'), 'Europe/Paris')).toBe('2025-12-31');
    expect(businessDateFor(new Date('2026-03-01T02:00:00Z'), 'Europe/Paris')).toBe('2026-02-28');
  });

  it('gives one business date per 03:00 run across the clock changes', () => {
    // 03:00 Paris is 02:00 UTC in winter and 01:00 UTC in summer.
    const runs = ['2026-03-28T02:00:00Z', '2026-03-29T01:00:00Z', '2026-03-30T01:00:00Z', '2026-10-24T01:00:00Z', '2026-10-25T02:00:00Z', '2026-10-26T02:00:00Z'];
    expect(runs.map((r) => businessDateFor(new Date(r), 'Europe/Paris'))).toEqual(['2026-03-27', '2026-03-28', '2026-03-29', '2026-10-23', '2026-10-24', '2026-10-25']);
  });

  it('shows an instant as the wall clock of the zone', () => {
    expect(wallClock(new Date('2026-03-29T01:00:00Z'), 'Europe/Paris')).toBe('2026-03-29 03:00');
    expect(wallClock(new Date('2026-10-25T02:00:00Z'), 'Europe/Paris')).toBe('2026-10-25 03:00');
  });
});

describe('expectedLoadedThrough: what every table must hold by now', () => {
  const halfHour = 30 * 60_000;
  it('is yesterday once the 06:00 deadline and the grace have passed, the day before until then', () => {
    expect(expectedLoadedThrough(new Date('2026-01-15T05:29:00Z'), '06:00', 'Europe/Paris', halfHour)).toBe('2026-01-13');
    expect(expectedLoadedThrough(new Date('2026-01-15T05:30:00Z'), '06:00', 'Europe/Paris', halfHour)).toBe('2026-01-14');
    expect(expectedLoadedThrough(new Date('2026-01-15T22:00:00Z'), '06:00', 'Europe/Paris', halfHour)).toBe('2026-01-14');
    expect(expectedLoadedThrough(new Date('2026-07-15T04:30:00Z'), '06:00', 'Europe/Paris', halfHour)).toBe('2026-07-14');
  });
});

describe('operatorTime: an instant as the operator reads it in a message', () => {
  it('is the wall clock of the warehouse\'s zone, named, in winter and in summer', () => {
    expect(operatorTime(new Date('2026-01-15T05:00:00Z'), 'Europe/Paris')).toBe('2026-01-15 06:00 Europe/Paris');
    expect(operatorTime(new Date('2026-07-15T04:00:00Z'), 'Europe/Paris')).toBe('2026-07-15 06:00 Europe/Paris');
    expect(operatorTime(new Date('2026-07-15T04:00:09.500Z'), 'UTC')).toBe('2026-07-15 04:00:09 UTC');
  });
});
