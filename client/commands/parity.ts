import { createControlStore } from '../../activities/control-store.ts';
import type { Command } from 'commander';
import { createReadD1Client } from '../read-d1.ts';
import { parityQueries, parityQueryFor } from '../../history/parity-queries.ts';
import type { Config } from '../../worker/config.ts';
import { paritySignOff } from '../../workflows/index.ts';
import { readSigningKey, refusal, refusalOf, signApproval } from '../approval-signing.ts';
import { UserError } from '../cli-support.ts';
import { connectClient } from '../temporal-client.ts';
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

/** `warehouse parity --table T --sodiwin FILE --query NAME [--sign-off [--key FILE]]`: the parity gate; a sign-off is signed with the approver's key and recorded by the worker. */
export function registerParity(program: Command, loadConfig: () => Config): void {
  program
    .command('parity')
    .description("compare a Sodiwin screen export with the same question asked of D1, key by key; --sign-off records that D1 is authoritative for the table")
    .requiredOption('--table <table>', 'the warehouse table being signed off')
    .requiredOption('--sodiwin <file>', "the Sodiwin screen exported as CSV (the nightly files' dialect)")
    .requiredOption('--query <name>', `the reconciliation query: ${parityQueries.map((q) => q.name).join(', ')}`)
    .option('--sign-off', 'sign off with your approver key: the worker records it (refused while there is a difference)')
    .option('--key <file>', 'your private approver key (default: APPROVER_KEY, else ~/.config/sodimo-warehouse/approver.key)')
    .option('--json', 'print the comparison as JSON')
    .action(async (options: { table: string; sodiwin: string; query: string; signOff?: boolean; key?: string; json?: boolean }) => {
      const query = parityQueryFor(options.query);
      if (!query) throw new UserError(`unknown query "${options.query}"; the queries are ${parityQueries.map((q) => `${q.name} (${q.table})`).join(', ')}`);
      if (query.table !== options.table) throw new UserError(`query ${query.name} reconciles table ${query.table}, not ${options.table}`);
      const config = loadConfig();
      const signer = options.signOff ? await readSigningKey(config, options.key) : undefined;

      const d1 = createReadD1Client(config);
      const screen = await readScreenExport(options.sodiwin, query, config.load.dialect);
      const diff = compareParity(query, screen.rows, await queryD1(d1, query));
      const differences = differenceCount(diff);
      const loadedThrough = (await createControlStore(d1).watermarks.of(query.table).catch(() => undefined)) ?? null;

      let signed: { signedBy: string; workflowId: string } | undefined;
      if (signer && differences === 0) signed = await signOff(config, signer, { table: query.table, query: query.name, sha256: screen.sha256, loadedThrough, rowsCompared: diff.rowsCompared, sodiwinFile: options.sodiwin });
      const signedOff = signed !== undefined;
      if (differences > 0) process.exitCode = 2;

      if (options.json) {
        console.log(JSON.stringify({ table: query.table, query: query.name, loadedThrough, differences, signedOff, ...diff }, null, 2));
      } else {
        console.log(`${query.name}: ${query.screen} — table ${query.table}, loaded through ${loadedThrough ?? 'nothing yet'}`);
        console.log(`${diff.rowsCompared} rows in both, ${diff.onlyInSodiwin.length} only in Sodiwin, ${diff.onlyInD1.length} only in D1, ${diff.different.length} values differ`);
        if (differences > 0) console.log(formatDiff(diff));
        else console.log('Sodiwin and D1 agree.');
      }
      if (options.signOff && differences > 0) throw refusal('sign-off', `${differences} difference(s) between Sodiwin and D1 for ${query.name}`);
      if (signedOff && !options.json) console.log(`signed off by ${signed!.signedBy}: D1 is authoritative for ${query.table} (see v_table_authority; recorded by ${signed!.workflowId})`);
    });
}

/** Signs the comparison the approver saw and has the worker verify and record it; the name recorded is the key owner's. */
async function signOff(
  config: Config,
  signer: Awaited<ReturnType<typeof readSigningKey>>,
  seen: { table: string; query: string; sha256: string; loadedThrough: string | null; rowsCompared: number; sodiwinFile: string },
): Promise<{ signedBy: string; workflowId: string }> {
  const approval = signApproval(config, signer, {
    action: 'parity-signoff',
    target: `${seen.table}/${seen.query}`,
    mode: null,
    evidence: { table: seen.table, businessDate: seen.loadedThrough, sha256: seen.sha256 },
    facts: { rowsCompared: seen.rowsCompared, differences: 0, sodiwinFile: seen.sodiwinFile },
  });
  const { client, connection } = await connectClient(config);
  try {
    const workflowId = `parity-signoff-${seen.table}-${seen.query}-${Date.now()}`;
    const result = await client.workflow.execute(paritySignOff, {
      workflowId,
      taskQueue: config.temporal.taskQueue,
      args: [{ table: seen.table, query: seen.query, sodiwinSha256: seen.sha256, loadedThrough: seen.loadedThrough, approval: { mode: null, statement: approval.statement, signature: approval.signature } }],
    });
    return { signedBy: result.signedBy, workflowId };
  } catch (error) {
    throw refusalOf(error, `sign-off of ${seen.table} (${seen.query})`);
  } finally {
    await connection.close();
  }
}
