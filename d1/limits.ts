/**
 * Cloudflare D1's published limits, as named constants (see ../shared FACTS, "Cloudflare D1").
 * The statement packer and the client size their work against these; nothing else should
 * hard-code them.
 */

/** Most bound parameters (`?`) a single statement may carry. */
export const D1_MAX_BOUND_PARAMS = 100;

/** Longest SQL text of a single statement, in UTF-8 bytes (not JavaScript string length). */
export const D1_MAX_STATEMENT_BYTES = 100_000;

/** Longest a single request (one query or one batch) may run before D1 cancels it, in ms. */
export const D1_MAX_REQUEST_MS = 30_000;

/** Most columns a D1 table may have. */
export const D1_MAX_COLUMNS = 100;

/** Largest row, string or blob D1 stores, in bytes. */
export const D1_MAX_ROW_BYTES = 2_000_000;

/** Cloudflare API rate limit: requests allowed per user per window (see `CLOUDFLARE_API_WINDOW_MS`). */
export const CLOUDFLARE_API_MAX_REQUESTS = 1_200;

/** Cloudflare API rate limit window: 5 minutes, in ms. */
export const CLOUDFLARE_API_WINDOW_MS = 5 * 60_000;
