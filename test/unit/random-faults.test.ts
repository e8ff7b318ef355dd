import { describe, expect, it } from 'vitest';
import { RandomFaultSource, faultCommandSchema, randomFaultMenu, randomFaultsSchema, type RandomFaultsInput } from '../../d1/local-service/random-faults.ts';

/** The faults `count` requests on one route get, in order (undefined: served normally). */
function draws(settings: RandomFaultsInput, count: number, preempt: (i: number) => boolean = () => false) {
  const source = new RandomFaultSource();
  source.configure(randomFaultsSchema.parse(settings));
  return { faults: Array.from({ length: count }, (_, i) => source.draw('POST query', preempt(i))), state: source.state()! };
}

describe("the local D1 service's seeded random faults", () => {
  it('gives the n-th request the same fault for the same seed, and another sequence for another seed', () => {
    const a = draws({ seed: 7, rate: 0.05 }, 2000).faults;
    expect(draws({ seed: 7, rate: 0.05 }, 2000).faults).toEqual(a);
    expect(draws({ seed: 8, rate: 0.05 }, 2000).faults).not.toEqual(a);
  });

  it('injects about `rate` of the requests, drawn from the whole menu, and counts them per kind and route', () => {
    const { faults, state } = draws({ seed: 11, rate: 0.05, maxRetryAfterSeconds: 3 }, 20_000);
    const injected = faults.filter((f) => f !== undefined);
    expect(injected.length / 20_000).toBeGreaterThan(0.04);
    expect(injected.length / 20_000).toBeLessThan(0.06);
    expect(Object.keys(state.byKind).sort()).toEqual(Object.keys(randomFaultMenu).sort());
    expect(state).toMatchObject({ requests: 20_000, injected: injected.length, byRoute: { 'POST query': { requests: 20_000, faults: injected.length } } });
    const retryAfters = new Set(injected.filter((f) => f!.kind === '429').map((f) => f!.retryAfterSeconds));
    expect([...retryAfters].sort()).toEqual([1, 2, 3]);
  });

  it('maps the D1 kinds to the messages and codes real D1 answers with', () => {
    const { faults } = draws({ seed: 3, rate: 1, kinds: ['d1-overloaded-7429'] }, 1);
    expect(faults[0]).toMatchObject({ kind: 'd1-error', status: 400, code: 7429, message: 'D1 DB is overloaded. Requests queued for too long.' });
    const lost = draws({ seed: 3, rate: 1, kinds: ['error-after'] }, 1).faults[0];
    expect(lost).toMatchObject({ kind: 'error-after', status: 400, code: 7500, message: 'D1_ERROR: Network connection lost.' });
  });

  it('a request a queued fault answers still draws, so the sequence of later requests does not move', () => {
    const plain = draws({ seed: 5, rate: 0.2 }, 500).faults;
    const { faults, state } = draws({ seed: 5, rate: 0.2 }, 500, (i) => i % 2 === 0);
    expect(faults.filter((_, i) => i % 2 === 1)).toEqual(plain.filter((_, i) => i % 2 === 1));
    expect(faults.filter((_, i) => i % 2 === 0).every((f) => f === undefined)).toBe(true);
    expect(state.requests).toBe(500);
  });

  it('stops on {random: null}, keeping its counts, and draws nothing when it was never turned on', () => {
    const source = new RandomFaultSource();
    expect(source.draw('POST query', false)).toBeUndefined();
    expect(source.state()).toBeNull();
    source.configure(randomFaultsSchema.parse({ seed: 1, rate: 1 }));
    expect(source.draw('GET time_travel/bookmark', false)).toBeDefined();
    expect(faultCommandSchema.parse({ random: null })).toEqual({ random: null });
    source.configure(null);
    expect(source.draw('POST query', false)).toBeUndefined();
    expect(source.state()).toMatchObject({ on: false, requests: 1, injected: 1, byRoute: { 'GET time_travel/bookmark': { requests: 1, faults: 1 } } });
  });

  it('refuses a rate above 1 and an unknown kind', () => {
    expect(faultCommandSchema.safeParse({ random: { seed: 1, rate: 1.5 } }).success).toBe(false);
    expect(faultCommandSchema.safeParse({ random: { seed: 1, rate: 0.1, kinds: ['meteor'] } }).success).toBe(false);
    expect(faultCommandSchema.safeParse({ kind: 'drop', count: 1 }).success).toBe(true);
  });
});
