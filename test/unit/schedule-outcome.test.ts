import { describe, expect, it } from 'vitest';
import { recentRunOutcome } from '../../client/schedule.ts';
import type { ScheduledNightlyResult } from '../../workflows/scheduled-nightly.ts';

const tables = ['customers', 'orders', 'stock'];
/** A scheduled run's result whose night ended with the given status per table. */
function ended(statuses: ('loaded' | 'unchanged' | 'deferred' | 'failed')[], status: 'ok' | 'partial' | 'failed'): ScheduledNightlyResult {
  return {
    scheduledAt: '2026-03-05T02:00:00.000Z',
    businessDate: '2026-03-04',
    nightlyWorkflowId: 'nightly-2026-03-04',
    summary: {
      businessDate: '2026-03-04',
      runId: 'nightly-2026-03-04:r',
      bookmark: 'b',
      status,
      tables: statuses.map((s, i) =>
        s === 'failed'
          ? { table: tables[i]!, businessDate: '2026-03-04', status: 'failed', errorType: 'CsvHeaderMismatch', message: 'm' }
          : ({ table: tables[i]!, businessDate: '2026-03-04', status: s } as never),
      ),
    },
  };
}

describe('recentRunOutcome: what `schedule describe` says a scheduled run did', () => {
  it('a night whose tables all failed did not load its date', () => {
    expect(recentRunOutcome({ status: 'COMPLETED', result: ended(['failed', 'failed', 'failed'], 'failed') })).toBe('FAILED: 0 of 3 tables loaded, 3 failed (customers, orders, stock)');
  });

  it('names the failed and held-back tables of a partial night, and says ok for a whole one', () => {
    expect(recentRunOutcome({ status: 'COMPLETED', result: ended(['loaded', 'deferred', 'failed'], 'partial') })).toBe('PARTIAL: 1 of 3 tables loaded, 1 held back by an incident, 1 failed (stock)');
    expect(recentRunOutcome({ status: 'COMPLETED', result: ended(['loaded', 'unchanged', 'loaded'], 'ok') })).toBe('ok: 3 of 3 tables loaded');
  });

  it('says how a run ended that has no night summary', () => {
    expect(recentRunOutcome({ status: 'RUNNING' })).toBe('running');
    expect(recentRunOutcome({ status: 'TIMED_OUT' })).toBe('timed out');
    expect(recentRunOutcome({ status: 'UNKNOWN' })).toBe('outcome unknown (history no longer kept)');
    expect(recentRunOutcome({ status: 'COMPLETED', result: { scheduledAt: 'x', businessDate: '2026-03-04', nightlyWorkflowId: 'nightly-2026-03-04' } })).toBe('nightly-2026-03-04 was already running: left alone');
  });
});
