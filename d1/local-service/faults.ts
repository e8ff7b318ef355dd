import { z } from 'zod';

/**
 * A fault a test asks the local D1 service to inject into its next D1 API requests.
 * `hang` never answers and never runs the SQL; `hang-after` runs the SQL and then
 * never answers (a response lost after the write applied). `match` limits the fault
 * to requests whose path or body contains that text.
 */
export const faultRequestSchema = z.object({
  kind: z.enum(['429', '500', 'hang', 'hang-after']),
  count: z.number().int().min(1).max(1000).default(1),
  retryAfterSeconds: z.number().int().min(0).max(600).default(1),
  match: z.string().min(1).optional(),
});
export type FaultRequest = z.infer<typeof faultRequestSchema>;

/** The fault to apply to one request, if any. */
export type Fault = Omit<FaultRequest, 'count' | 'match'>;

/**
 * A queue of pending faults. Each D1 API request takes at most one: the first pending
 * fault whose `match` (if any) the request contains.
 */
export class FaultQueue {
  #pending: FaultRequest[] = [];
  #applied = 0;

  /** Adds `count` faults of one kind after those already queued. */
  add(request: FaultRequest): void {
    this.#pending.push({ ...request });
  }

  /** Forgets every pending fault. */
  clear(): void {
    this.#pending = [];
  }

  /** The fault for a request with this path and body, or undefined to serve it normally. */
  take(requestText: string): Fault | undefined {
    const index = this.#pending.findIndex((f) => f.match === undefined || requestText.includes(f.match));
    const fault = this.#pending[index];
    if (!fault) return undefined;
    fault.count -= 1;
    if (fault.count <= 0) this.#pending.splice(index, 1);
    this.#applied += 1;
    return { kind: fault.kind, retryAfterSeconds: fault.retryAfterSeconds };
  }

  /** What is still queued and how many faults were applied so far (tests wait on it). */
  state(): { pending: FaultRequest[]; applied: number } {
    return { pending: this.#pending.map((f) => ({ ...f })), applied: this.#applied };
  }
}
