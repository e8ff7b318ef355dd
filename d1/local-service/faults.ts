import { z } from 'zod';

/** A fault a test asks the local D1 service to inject into its next D1 API requests. */
export const faultRequestSchema = z.object({
  kind: z.enum(['429', '500', 'hang']),
  count: z.number().int().min(1).max(1000).default(1),
  retryAfterSeconds: z.number().int().min(0).max(600).default(1),
});
export type FaultRequest = z.infer<typeof faultRequestSchema>;

/** The fault to apply to one request, if any. */
export type Fault = Omit<FaultRequest, 'count'>;

/**
 * A queue of pending faults. Each D1 API request takes at most one; faults are
 * applied before any SQL runs, so a faulted request never touches the data.
 */
export class FaultQueue {
  #pending: FaultRequest[] = [];

  /** Adds `count` faults of one kind after those already queued. */
  add(request: FaultRequest): void {
    this.#pending.push({ ...request });
  }

  /** Forgets every pending fault. */
  clear(): void {
    this.#pending = [];
  }

  /** The fault for the request now arriving, or undefined to serve it normally. */
  take(): Fault | undefined {
    const head = this.#pending[0];
    if (!head) return undefined;
    head.count -= 1;
    if (head.count <= 0) this.#pending.shift();
    return { kind: head.kind, retryAfterSeconds: head.retryAfterSeconds };
  }
}
