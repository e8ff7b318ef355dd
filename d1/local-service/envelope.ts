/** Cloudflare API response envelopes, as the local D1 service writes them. */

/** One entry of Cloudflare's `errors[]`. */
export interface CloudflareError {
  code: number;
  message: string;
}

/** Cloudflare's error codes that the local service emits. */
export const cloudflareErrorCodes = {
  sqlError: 7500,
  invalidRequest: 7400,
  databaseNotFound: 7404,
  rateLimited: 971,
  authenticationError: 10000,
  unableToAuthenticate: 10001,
  internalError: 7000,
  notFound: 7003,
} as const;

/** A successful envelope around `result`. */
export function successEnvelope(result: unknown): object {
  return { success: true, errors: [], messages: [], result };
}

/** A failed envelope with one error. */
export function errorEnvelope(code: number, message: string): object {
  return { success: false, errors: [{ code, message } satisfies CloudflareError], messages: [], result: null };
}

/** An error the HTTP layer turns into a status + Cloudflare error envelope. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: number;
  readonly headers: Record<string, string>;
  constructor(status: number, code: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}
