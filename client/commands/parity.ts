import type { Command } from 'commander';
import { createD1Client } from '../../d1/client.ts';
import { parityQueries, parityQueryFor } from '../../history/parity-queries.ts';
import type { Config } from '../../worker/config.ts';
import { UserError } from '../cli-support.ts';
import { formatTable } from '../format-table.ts';
import { compareParity, differenceCount, queryD1, readScreenExport, type ParityDiff } from '../parity.ts';

/** The first differences as an operator reads them. */
function formatDiff(diff: ParityDiff, limit = 20): string {
  const rows = [
    ...diff.different.map((d) => [d.key, d.column, d.sodiwin, d.d1]),
    ...diff.onlyInSodiwin.map((k) => [k, '(row)', 'present', 'missing']),
    ...diff.onlyInD1.map((k) => [k, '(row)', 'missing', 'present']),
  ];
  const shown = formatTable(['key', 'column', 'Sodiwin', 'D1'], rows.slice(0, limit));
  return rows.length > limit ? `${shown}\n… and ${rows.length - limit} more` : shown;
}

/** `warehouse parity --table T --sodiwin FILE --query NAME [--sign-off --by NAME]`: the parity gate. */
export function registerParity(program: Command, loadConfig: () => Config): void {
  program
    .command('parity')
    .description("compare a Sodiwin screen export with the same question asked of D1, key by key; --sign-off records that D1 is authoritative for the table")
    .requiredOption('--table <table>', 'the warehouse table being signed off')
    .requiredOption('--sodiwin <file>', "the Sodiwin screen exported as CSV (the nightly files' dialect)")
    .requiredOption('--query <name>', `the reconciliation query: ${parityQueries.map((q) => q.name).join(', ')}`)
    .option('--sign-off', 'record the sign-off (refused while there is a difference)')
    .option('--by <name>', 'who signs off (must be in APPROVERS)')
    .option('--json', 'print the comparison as JSON')
    .action(async (options: { table: string; sodiwin: string; query: string; signOff?: boolean; by?: string; json?: boolean }) => {
      const query = parityQueryFor(options.query);
      if (!query) throw new UserError(`unknown query "${options.query}"; the queries are ${parityQueries.map((q) => `${q.name} (${q.table})`).join(', ')}`);
      if (query.table !== options.table) throw new UserError(`query ${query.name} reconciles table ${query.table}, not ${options.table}`);
      const config = loadConfig();
      if (options.signOff && !options.by) throw new UserError('--sign-off needs --by <name>');
      if (options.signOff && !config.approvers.includes(options.by!)) throw new UserError(`refused: ${options.by} is not an approver (approvers: ${config.approvers.join(', ')})`);

      const d1 = createD1Client(config.d1);
      const screen = await readScreenExport(options.sodiwin, query, config.load.dialect);
      const diff = compareParity(query, screen.rows, await queryD1(d1, query));
      const differences = differenceCount(diff);
      const [watermark] = await d1.query<{ business_date: string }>('SELECT business_date FROM etl_watermarks WHERE table_name = ?', [query.table]).catch(() => []);
      const loadedThrough = watermark?.results[0]?.business_date ?? null;

      let signedOff = false;
      if (options.signOff && differences === 0) {
        await d1.query(
          `INSERT INTO etl_parity_signoffs (table_name, query_name, signed_by, signed_at, result, differences, rows_compared, sodiwin_file, sodiwin_sha256, loaded_through)
           VALUES (?, ?, ?, ?, 'match', 0, ?, ?, ?, ?)`,
          [query.table, query.name, options.by!, new Date().toISOString(), diff.rowsCompared, options.sodiwin, screen.sha256, loadedThrough],
        );
        signedOff = true;
      }
      if (differences > 0) process.exitCode = 2;

      if (options.json) {
        console.log(JSON.stringify({ table: query.table, query: query.name, loadedThrough, differences, signedOff, ...diff }, null, 2));
      } else {
        console.log(`${query.name}: ${query.screen} — table ${query.table}, loaded through ${loadedThrough ?? 'nothing yet'}`);
        console.log(`${diff.rowsCompared} rows in both, ${diff.onlyInSodiwin.length} only in Sodiwin, ${diff.onlyInD1.length} only in D1, ${diff.different.length} values differ`);
        if (differences > 0) console.log(formatDiff(diff));
        else console.log('Sodiwin and D1 agree.');
      }
      if (options.signOff && differences > 0) throw new UserError(`sign-off refused: ${differences} difference(s) between Sodiwin and D1 for ${query.name}`);
      if (signedOff && !options.json) console.log(`signed off by ${options.by}: D1 is authoritative for ${query.table} (see v_table_authority)`);
    });
}
