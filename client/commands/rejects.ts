import { once } from 'node:events';
import type { Command } from 'commander';
import { createControlStore } from '../../activities/control-store.ts';
import type { Config } from '../../worker/config.ts';
import { UserError } from '../cli-support.ts';
import { formatTable } from '../format-table.ts';
import { createReadD1Client } from '../read-d1.ts';
import { beyondCapNote, csvRecord, incidentRejects, rejectedRowsOf, rejectsCsvFields, rejectsCsvHeader, rejectsHeadline } from '../rejects.ts';

/** Characters of a value, rule or message shown in the terminal table (`--csv` and `--json` carry them whole). */
const cellChars = 60;

/** Text cut for a table cell. */
function cell(text: string | null): string {
  if (text === null) return '';
  return text.length <= cellChars ? text : `${text.slice(0, cellChars - 1)}…`;
}

/** Writes to stdout, waiting when its buffer is full (a list of 100,000 rows piped to a file). */
async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
}

/** `warehouse rejects INCIDENT [--csv] [--json]`: every rejected row of the incident's load, to read or to send to Sodiwin. */
export function registerRejects(program: Command, loadConfig: () => Config): void {
  program
    .command('rejects')
    .description("every rejected row of an incident's load (line, column, value, rule, message; the raw line in --csv and --json), up to WAREHOUSE_REJECTED_ROWS_CAP")
    .argument('<incident>', 'the incident id as the alert prints it, e.g. incident-customers-2026-03-04')
    .option('--csv', 'RFC 4180 CSV with a header row, the raw line included: the list to send to Sodiwin (notes go to stderr)')
    .option('--json', 'print as JSON')
    .action(async (incidentId: string, options: { csv?: boolean; json?: boolean }) => {
      if (options.csv && options.json) throw new UserError('give --csv or --json, not both');
      const store = createControlStore(createReadD1Client(loadConfig()));
      const rejects = await incidentRejects(store, incidentId);
      const rows = rejectedRowsOf(store, rejects.loadId);
      const note = beyondCapNote(rejects);
      if (options.json) {
        const list = [];
        for await (const r of rows) list.push({ line: r.line, issue: r.issue, column: r.column_name, value: r.value, rule: r.rule, message: r.message, rawLine: r.raw_line });
        return write(`${JSON.stringify({ ...rejects, rows: list }, null, 2)}\n`);
      }
      if (options.csv) {
        await write(csvRecord(rejectsCsvHeader));
        for await (const r of rows) await write(csvRecord(rejectsCsvFields(r)));
        // stderr: the CSV on stdout stays the list alone.
        console.error(note ?? rejectsHeadline(rejects));
        return;
      }
      console.log(rejectsHeadline(rejects));
      const table = [];
      for await (const r of rows) table.push([r.line, r.column_name ?? '', cell(r.value), cell(r.rule), cell(r.message)]);
      if (table.length > 0) console.log(`\n${formatTable(['line', 'column', 'value', 'rule', 'message'], table)}`);
      if (note) console.log(`\n${note}`);
    });
}
