import { z } from 'zod';

/**
 * A fault a test asks the local D1 service to inject into its next D1 API requests, the way
 * real D1 fails:
 *
 * - `429` (code 971, with Retry-After), `500`: answered without running the request.
 * - `d1-error`: answered with D1's error envelope `{code, message}` at `status` without running
 *   it, e.g. `internal error; reference = …` code 7500 on HTTP 400 (defaults), `Network
 *   connection lost`, 7429 overloaded, or a 7400 malformed request.
 * - `html`: an HTML error page from the edge at `status` (default 502), e.g. 524.
 * - `hang`: never answers and never runs the request.
 * - `drop`: closes the connection without running the request or answering.
 * - `hang-after`: runs it, then never answers (a response lost after the write applied).
 * - `drop-after`: runs it, then closes the connection without an answer.
 * - `error-after`: runs it, then answers `status` with `{code, message}` as if it had failed
 *   (defaults: HTTP 500, code 7500, `Network connection lost`): applied, answer lost.
 *
 * `match` limits the fault to requests whose path or body contains that text. The optional
 * fields stay optional (not defaulted) so that callers typed against `FaultRequest` need not set them.
 */
export const faultRequestSchema = z.object({
  kind: z.enum(['429', '500', 'd1-error', 'html', 'hang', 'drop', 'hang-after', 'drop-after', 'error-after']),
  count: z.number().int().min(1).max(1000).default(1),
  retryAfterSeconds: z.number().int().min(0).max(600).default(1),
  match: z.string().min(1).optional(),
  /** HTTP status of `d1-error`, `html` and `error-after`. */
  status: z.number().int().min(400).max(599).optional(),
  /** Cloudflare error code of `d1-error` and `error-after`. */
  code: z.number().int().min(1).optional(),
  /** D1's error message of `d1-error` and `error-after`. */
  message: z.string().min(1).max(2000).optional(),
});
export type FaultRequest = z.infer<typeof faultRequestSchema>;

/** The fault to apply to one request, if any. */
export type Fault = Omit<FaultRequest, 'count' | 'match'>;

/** Faults that let the request run before they spoil its answer. */
export const faultsAfterApply: ReadonlySet<Fault['kind']> = new Set(['hang-after', 'drop-after', 'error-after']);

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
    const { kind, retryAfterSeconds, status, code, message } = fault;
    return { kind, retryAfterSeconds, status, code, message };
  }

  /** What is still queued and how many faults were applied so far (tests wait on it). */
  state(): { pending: FaultRequest[]; applied: number } {
    return { pending: this.#pending.map((f) => ({ ...f })), applied: this.#applied };
  }
}
