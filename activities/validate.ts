import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { log } from '@temporalio/activity';
import { whileHeartbeating } from './keep-alive.ts';
import { etlFailure } from '../common/errors.ts';
import { contractFor } from '../contracts/index.ts';
import { sodiwinDialect } from '../contracts/types.ts';
import type { D1Client } from '../d1/client.ts';
import { scanExport } from './export-reader.ts';
import type { FetchedExport } from './fetch.ts';
import type { NasLayout } from './nas.ts';

/** What validation needs. */
export interface ValidateDeps {
  d1: Pick<D1Client, 'query' | 'batch'>;
  nas: NasLayout;
  /** Rejected rows a file may have and still load (default policy: none). */
  rejectTolerance: number;
}

/** Which archived export to validate, for which run. */
export interface ValidateInput {
  table: string;
  businessDate: string;
  runId: string;
  fetched: FetchedExport;
}

/** The validation report's counts and control totals (the rows stay in the file). */
export interface ValidationReport {
  rowsRead: number;
  rowsValid: number;
  rowsRejected: number;
  controlTotals: Record<string, string>;
  reportPath: string;
}

/** validate: stream the archived file through the contract; reject it on any structural error or invalid row. */
export const createValidateActivities = (deps: ValidateDeps) => ({
  validateExport(input: ValidateInput): Promise<ValidationReport> {
    return whileHeartbeating(async () => {
      const contract = contractFor(input.table);
      const { fetched } = input;
      await deps.d1.query(
        `INSERT INTO etl_loads (load_id, run_id, table_name, business_date, file_name, archive_path, sha256, bytes, status, started_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'validating', ?)
         ON CONFLICT (load_id) DO UPDATE SET run_id = excluded.run_id, status = 'validating', started_at = excluded.started_at,
           finished_at = NULL, error_type = NULL, error_detail = NULL`,
        [fetched.loadId, input.runId, input.table, input.businessDate, fetched.fileName, fetched.archivePath, fetched.sha256, fetched.bytes, new Date().toISOString()],
      );

      const scan = await scanExport({ path: fetched.archivePath, contract, dialect: sodiwinDialect, businessDate: input.businessDate });
      const reportPath = join(deps.nas.reports, input.businessDate, `${input.table}.json`);
      await mkdir(join(deps.nas.reports, input.businessDate), { recursive: true });
      await writeFile(reportPath, JSON.stringify({ table: input.table, businessDate: input.businessDate, file: fetched.fileName, sha256: fetched.sha256, ...scan }, null, 2));

      if (scan.rowsRejected > deps.rejectTolerance) {
        const first = scan.issues[0];
        throw etlFailure('RowValidationFailed', `${scan.rowsRejected} of ${scan.rowsRead} rows rejected (tolerance ${deps.rejectTolerance}); first: ${first?.rule ?? 'see report'}`, {
          table: input.table,
          businessDate: input.businessDate,
          file: fetched.fileName,
          ...(first ? { line: first.line, column: first.column, value: first.value, rule: first.rule } : {}),
          issues: scan.issues,
        });
      }
      await deps.d1.query(
        'UPDATE etl_loads SET rows_read = ?, rows_valid = ?, rows_rejected = ?, control_totals_json = ? WHERE load_id = ?',
        [scan.rowsRead, scan.rowsValid, scan.rowsRejected, JSON.stringify(scan.controlTotals), fetched.loadId],
      );
      log.info('export validated', { table: input.table, businessDate: input.businessDate, rowsRead: scan.rowsRead, rowsRejected: scan.rowsRejected });
      return { rowsRead: scan.rowsRead, rowsValid: scan.rowsValid, rowsRejected: scan.rowsRejected, controlTotals: scan.controlTotals, reportPath };
    });
  },
});
