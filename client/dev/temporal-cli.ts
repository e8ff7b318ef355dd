import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../scripts/temporal-cli.sh', import.meta.url));

/**
 * The Temporal CLI's path, found (or built and cached) by scripts/temporal-cli.sh,
 * or undefined when none can be had here and the SDK's download is the fallback.
 * The script's progress messages go to this process's stderr.
 */
export function findTemporalCli(): string | undefined {
  const result = spawnSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (result.status === 0) return result.stdout.trim();
  if (result.status === 3) return undefined;
  throw new Error(`scripts/temporal-cli.sh failed (exit ${result.status ?? result.signal})`);
}
