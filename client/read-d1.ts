import { createD1Client, type D1Client } from '../d1/client.ts';
import type { Config } from '../worker/config.ts';

/**
 * The D1 client of the CLI's read paths (query, report, status, incidents, checksum). It carries
 * CLOUDFLARE_API_TOKEN_READ when that is set: a token with D1 Read only, so Cloudflare refuses a
 * write whatever the SQL. Unset, it falls back to CLOUDFLARE_API_TOKEN, and `warehouse query`
 * relies on its own checks (client/read-only-sql.ts) alone.
 */
export function createReadD1Client(config: Pick<Config, 'd1Read'>): D1Client {
  return createD1Client(config.d1Read);
}
