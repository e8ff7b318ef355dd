import { z } from 'zod';
import { Rng } from '../../generator/random.ts';
import { faultRequestSchema, type Fault } from './faults.ts';

/**
 * The faults random mode draws from, each as real D1 (or the edge in front of it) serves it.
 * The D1 messages are the transient ones of Cloudflare's "Retry queries" page and of the REST
 * answers seen in workers-sdk #14731 and #15449; `error-after` is the hostile case of an applied
 * write answered with HTTP 400 `Network connection lost`, which a client must not take for SQL.
 */
export const randomFaultMenu = {
  /** `internal error; reference = …`, code 7500 on HTTP 400 (the fault's defaults). */
  'd1-internal-error': { kind: 'd1-error' },
  'd1-network-lost': { kind: 'd1-error', status: 400, code: 7500, message: 'D1_ERROR: Network connection lost.' },
  'd1-object-reset': { kind: 'd1-error', status: 400, code: 7500, message: 'D1_ERROR: Internal error while starting up D1 DB storage caused object to be reset.' },
  'd1-code-updated': { kind: 'd1-error', status: 400, code: 7500, message: 'D1_ERROR: D1 DB reset because its code was updated.' },
  'd1-overloaded-7429': { kind: 'd1-error', status: 400, code: 7429, message: 'D1 DB is overloaded. Requests queued for too long.' },
  /** Retry-After drawn from 1 to `maxRetryAfterSeconds`. */
  '429': { kind: '429' },
  '500': { kind: '500' },
  'html-502': { kind: 'html', status: 502 },
  'html-524': { kind: 'html', status: 524 },
  hang: { kind: 'hang' },
  drop: { kind: 'drop' },
  'hang-after': { kind: 'hang-after' },
  'drop-after': { kind: 'drop-after' },
  'error-after': { kind: 'error-after', status: 400, code: 7500, message: 'D1_ERROR: Network connection lost.' },
} as const satisfies Record<string, Omit<Fault, 'retryAfterSeconds'>>;

/** The name of one entry of `randomFaultMenu`. */
export type RandomFaultKind = keyof typeof randomFaultMenu;
const randomFaultKinds = Object.keys(randomFaultMenu) as [RandomFaultKind, ...RandomFaultKind[]];

/** `POST /__local/faults {random: …}`: inject faults at random into every D1 API request, or `{random: null}` to stop. */
export const randomFaultsSchema = z.object({
  seed: z.number().int(),
  /** Probability that a request gets a fault; 0 counts requests without injecting anything. */
  rate: z.number().min(0).max(1),
  /** The faults to draw from, with equal weights (default: the whole menu). */
  kinds: z.array(z.enum(randomFaultKinds)).min(1).optional(),
  /** Longest Retry-After of an injected 429. */
  maxRetryAfterSeconds: z.number().int().min(1).max(600).default(2),
});
export type RandomFaults = z.infer<typeof randomFaultsSchema>;
/** Random mode's settings as a caller writes them (defaults may be left out). */
export type RandomFaultsInput = z.input<typeof randomFaultsSchema>;

/** What `POST /__local/faults` accepts: one queued fault, or random mode on or off. */
export const faultCommandSchema = z.union([faultRequestSchema, z.object({ random: randomFaultsSchema.nullable() }).strict()]);

/** What random mode saw and injected since it was last turned on. */
export interface RandomFaultStats {
  seed: number;
  rate: number;
  kinds: RandomFaultKind[];
  /** False once turned off (the counts stay readable). */
  on: boolean;
  /** D1 API requests that drew, whether or not they got a fault. */
  requests: number;
  injected: number;
  byKind: Partial<Record<RandomFaultKind, number>>;
  /** Per route (`POST query`, `PUT import upload`, …): requests seen and faults injected. */
  byRoute: Record<string, { requests: number; faults: number }>;
}

/**
 * Seeded random faults. Every request draws three numbers from one PRNG stream in arrival
 * order, used or not, so the n-th request gets the same fault for the same seed whatever the
 * earlier requests got: a run is repeatable as far as its request order is.
 */
export class RandomFaultSource {
  #rng: Rng | undefined;
  #settings: RandomFaults | undefined;
  #stats: RandomFaultStats | undefined;

  /** Turns random mode on (from a fresh stream and fresh counts), or off with `null`. */
  configure(settings: RandomFaults | null): void {
    if (settings === null) {
      this.#rng = undefined;
      if (this.#stats) this.#stats.on = false;
      return;
    }
    this.#settings = settings;
    this.#rng = new Rng(settings.seed);
    const kinds = settings.kinds ?? randomFaultKinds;
    this.#stats = { seed: settings.seed, rate: settings.rate, kinds: [...kinds], on: true, requests: 0, injected: 0, byKind: {}, byRoute: {} };
  }

  /**
   * The fault for the next request on `route`, if the draw gives one. `preempted`: a queued
   * fault answers this request; it still draws (to keep the sequence) but gets nothing.
   */
  draw(route: string, preempted: boolean): Fault | undefined {
    const rng = this.#rng;
    const settings = this.#settings;
    const stats = this.#stats;
    if (!rng || !settings || !stats) return undefined;
    const [roll, pick, extra] = [rng.next(), rng.next(), rng.next()];
    const perRoute = (stats.byRoute[route] ??= { requests: 0, faults: 0 });
    stats.requests += 1;
    perRoute.requests += 1;
    if (preempted || roll >= settings.rate) return undefined;
    const kind = stats.kinds[Math.floor(pick * stats.kinds.length)]!;
    stats.injected += 1;
    perRoute.faults += 1;
    stats.byKind[kind] = (stats.byKind[kind] ?? 0) + 1;
    return { ...randomFaultMenu[kind], retryAfterSeconds: 1 + Math.floor(extra * settings.maxRetryAfterSeconds) };
  }

  /** The counts so far, or null if random mode was never on. */
  state(): RandomFaultStats | null {
    return this.#stats ? structuredClone(this.#stats) : null;
  }
}
