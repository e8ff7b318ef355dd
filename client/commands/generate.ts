import { resolve } from 'node:path';
import type { Command } from 'commander';
import { addDays } from '../../common/business-dates.ts';
import { dumpManifestName, generateDump, type DumpSummary } from '../../generator/dump.ts';
import { generateExports, type GenerateSummary } from '../../generator/index.ts';
import type { Config } from '../../worker/config.ts';
import { UserError } from '../cli-support.ts';
import { isIsoDate } from './run.ts';

interface GenerateOptions {
  out: string;
  from: string;
  days?: string;
  to?: string;
  dump?: boolean;
  partRows: string;
  scale: string;
  seed: string;
  json?: boolean;
}

/**
 * `warehouse generate --out DIR --from YYYY-MM-DD --days N [--scale S] [--seed N]`: a
 * deterministic simulation of Sodiwin's nightly exports, with the ground truth beside them;
 * with `--dump --to YYYY-MM-DD`, Sodiwin's historical dump as of that date instead.
 * Needs no configuration (the parameter is taken for uniformity with the other commands).
 */
export function registerGenerate(program: Command, _loadConfig: () => Config): void {
  program
    .command('generate')
    .description("write simulated Sodiwin exports (one file per table per day) and their ground truth under DIR/.truth")
    .requiredOption('--out <DIR>', 'directory to write the exports into (created if missing)')
    .requiredOption('--from <YYYY-MM-DD>', 'first business date')
    .option('--days <N>', 'number of consecutive business dates (nightly exports; or the length of a dump)')
    .option('--dump', "write Sodiwin's historical dump (the state on the last day, several files per table, a manifest) instead of nightly files")
    .option('--to <YYYY-MM-DD>', 'with --dump: the as-of date (instead of --days)')
    .option('--part-rows <N>', 'with --dump: rows per file at most', '1000000')
    .option('--scale <S>', 'volume factor: transactions × S, master data × √S', '1')
    .option('--seed <N>', 'random seed: same options and seed, same bytes', '1')
    .option('--json', 'print the summary as JSON')
    .action(async (options: GenerateOptions) => {
      const { from } = options;
      if (!isIsoDate(from)) throw new UserError(`--from must be a real date as YYYY-MM-DD, got "${from}"`);
      const seed = nonNegativeInteger('--seed', options.seed);
      const scale = Number(options.scale);
      if (!/^\d+(\.\d+)?$/.test(options.scale.trim()) || !(scale > 0)) throw new UserError(`--scale must be a positive number, got "${options.scale}"`);
      const started = performance.now();
      if (options.dump) {
        if (options.to !== undefined && !isIsoDate(options.to)) throw new UserError(`--to must be a real date as YYYY-MM-DD, got "${options.to}"`);
        if (options.to === undefined && options.days === undefined) throw new UserError('--dump needs --to YYYY-MM-DD (the as-of date) or --days N');
        const to = options.to ?? addDays(from, positiveInteger('--days', options.days!) - 1);
        if (to < from) throw new UserError(`--to (${to}) is before --from (${from})`);
        const dump = await generateDump({ outDir: resolve(options.out), from, to, scale, seed, partRows: positiveInteger('--part-rows', options.partRows) });
        const seconds = (performance.now() - started) / 1000;
        console.log(options.json ? JSON.stringify({ ...dump, truth: undefined, seconds }, null, 2) : formatDump(dump, seconds));
        return;
      }
      if (options.days === undefined) throw new UserError('--days N is required (or --dump --to YYYY-MM-DD)');
      const days = positiveInteger('--days', options.days);
      const summary = await generateExports({ outDir: resolve(options.out), from, days, scale, seed });
      const seconds = (performance.now() - started) / 1000;
      console.log(options.json ? JSON.stringify({ ...summary, seconds }, null, 2) : formatSummary(summary, seconds));
    });
}

function positiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < 1) throw new UserError(`${flag} must be a positive whole number, got "${text}"`);
  return value;
}

function nonNegativeInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value)) throw new UserError(`${flag} must be a whole number, got "${text}"`);
  return value;
}

/** The human summary: what was written, rows per table, where the truth is. */
export function formatSummary(summary: GenerateSummary, seconds: number): string {
  const width = Math.max(...Object.keys(summary.rows).map((t) => t.length));
  const lines = [
    `generated ${summary.files} files (${(summary.bytes / 2 ** 20).toFixed(1)} MiB) for ${summary.from} … ${summary.to} (${summary.days} day${summary.days === 1 ? '' : 's'}, scale ${summary.scale}, seed ${summary.seed}) in ${seconds.toFixed(1)} s`,
    `  into ${summary.outDir}`,
    '  rows over the period:',
    ...Object.entries(summary.rows).map(([table, rows]) => `    ${table.padEnd(width)} ${rows.toLocaleString('en').padStart(12)}`),
    `  order lines: ${summary.orderLines.toLocaleString('en')}; events: ${summary.events.length} (price list changes, cancellations, deletions, discontinued products)`,
    `  ground truth per day: ${summary.truthDir}/<YYYY-MM-DD>.json`,
  ];
  return lines.join('\n');
}

/** The human summary of a dump: files, rows per table, the manifest and the truth. */
export function formatDump(dump: DumpSummary, seconds: number): string {
  const width = Math.max(...Object.keys(dump.rows).map((t) => t.length));
  return [
    `generated Sodiwin's historical dump as of ${dump.asOf} (${dump.days} days simulated from ${dump.from}): ${dump.files.length} files (${(dump.bytes / 2 ** 20).toFixed(1)} MiB) in ${seconds.toFixed(1)} s`,
    `  into ${dump.outDir}`,
    '  rows per table:',
    ...Object.entries(dump.rows).map(([table, rows]) => `    ${table.padEnd(width)} ${rows.toLocaleString('en').padStart(12)}`),
    `  manifest: ${dumpManifestName(dump.asOf)}; ground truth: .truth/dump.json`,
  ].join('\n');
}
