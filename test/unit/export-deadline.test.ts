import { describe, expect, it } from 'vitest';
import { exportDeadline } from '../../common/export-deadline.ts';

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

  it('works across month and year ends and in other zones', () => {
    expect(exportDeadline('2026-12-31', '06:00', 'UTC').toISOString()).toBe('2027-01-01T06:00:00.000Z');
    expect(exportDeadline('2024-02-28', '23:59', 'America/New_York').toISOString()).toBe('2024-03-01T04:59:00.000Z');
  });

  it('refuses a malformed time or date', () => {
    expect(() => exportDeadline('2026-01-14', '6h', 'Europe/Paris')).toThrow('time of day must be HH:MM, got "6h"');
    expect(() => exportDeadline('14/01/2026', '06:00', 'Europe/Paris')).toThrow('business date must be YYYY-MM-DD');
  });
});
