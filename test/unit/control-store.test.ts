import { describe, expect, it } from 'vitest';
import { loadStatuses } from '../../common/control-statuses.ts';
import { insertApprovalStatement, type ApprovalRecord } from '../../history/control/approvals.ts';
import { rewriteAuditStatement } from '../../history/control/audit-trail.ts';
import { chunkMarkerSql, rowsImportedQuery } from '../../history/control/backfill-chunks.ts';
import { holdingIncidentsQuery, incidentHoldingQuery, markApprovedStatement, unaccountedDaysQuery } from '../../history/control/incidents.ts';
import * as loads from '../../history/control/loads.ts';
import * as rejected from '../../history/control/rejected-rows.ts';
import { beginRunStatements, finishRunStatement } from '../../history/control/runs.ts';
import type { ControlStatement } from '../../history/control/statement.ts';
import { advanceWatermarkStatement, fallBackWatermarkStatements, watermarkDateSql } from '../../history/control/watermarks.ts';

/** The parameters a statement binds: `?` placeholders, or the highest `?N`. */
function placeholders(sql: string): number {
  const numbered = [...sql.matchAll(/\?(\d+)/g)].map((m) => Number(m[1]));
  return numbered.length > 0 ? Math.max(...numbered) : (sql.match(/\?/g) ?? []).length;
}

/** The status literals a statement writes or compares with. */
function statusLiterals(sql: string): string[] {
  return [...sql.matchAll(/status (?:= |IN \()((?:'[a-z-]+'(?:, )?)+)/g)].flatMap((m) => [...m[1]!.matchAll(/'([a-z-]+)'/g)].map((s) => s[1]!));
}

const now = '2027-10-05T03:00:00.000Z';
const approval: ApprovalRecord = {
  decision_key: 'd1', action: 'approve-incident', target: 'incident-orders-2027-10-03', mode: 'rewind', accepted: 1, reason: null, approver: 'paul',
  key_fingerprint: 'SHA256:abc', evidence_table: 'orders', evidence_business_date: '2027-10-03', evidence_sha256: 'f00', nonce: 'n1', nonce_consumed: 1,
  statement: '{}', signature: 'sig', decided_at: now,
};

const statements: [string, ControlStatement][] = [
  ...beginRunStatements({ runId: 'r', businessDate: '2027-10-04', workflowId: 'nightly-2027-10-04', tablesTotal: 13, bookmark: 'b', now }).map((s, i): [string, ControlStatement] => [`beginRun ${i}`, s]),
  ['finishRun', finishRunStatement({ runId: 'r', status: 'partial', tablesOk: 12, tablesFailed: 1, summaryJson: '{}', now })],
  ['deleteRejectedRows', rejected.deleteRejectedRowsStatement('l')],
  ['recordRejectedCount', rejected.recordRejectedCountStatement({ loadId: 'l', rowsRejected: 3, cap: 100 })],
  ['rejectedRowsPage', rejected.rejectedRowsPageQuery({ loadId: 'l', after: { line: 0, issue: 0 }, limit: 1000 })],
  ['incidentLoad', rejected.incidentLoadQuery('incident-orders-2027-10-03')],
  ...rejected.duplicateKeyRowsStatements({ loadId: 'l', stageTable: '_stage_order_lines', key: ['order_no', 'line_no'], keySources: ['NUM_COMMANDE', 'NUM_LIGNE'], cap: 100 }).map((s, i): [string, ControlStatement] => [`duplicateKeyRows ${i}`, s]),
  ['startValidating', loads.startValidatingStatement({ loadId: 'l', runId: 'r', table: 'orders', businessDate: '2027-10-04', fileName: 'f', archivePath: 'a', sha256: 's', bytes: 1, now })],
  ['recordFailure', loads.recordFailureStatement({ loadId: 'l', runId: 'r', table: 'orders', businessDate: '2027-10-04', fileName: null, sha256: null, status: 'failed', errorType: 'ExportMissing', errorDetail: 'd', now })],
  ['markStaged', loads.markStagedStatement('l', '_stage_orders')],
  ['markVerified', loads.markVerifiedStatement('l', now)],
  ['writtenSince', loads.writtenSinceQuery('orders', '2027-10-03')],
  ['replayedFromDate', loads.replayedFromDateQuery('2027-10-03')],
  ['startImport', loads.startImportStatement({ loadId: 'l', runId: 'r', table: 'orders', asOf: '2027-09-30', fileNames: 'a, b', dumpDir: 'd', rowsRead: 9, now })],
  ['markImportVerified', loads.markImportVerifiedStatement({ loadId: 'l', rows: 9, controlTotalsJson: '{}', archiveDir: 'd', now })],
  ['latestPerTable', loads.latestLoadPerTableQuery(null)],
  ['advanceWatermark', advanceWatermarkStatement({ table: 'orders', businessDate: '2027-10-04', loadId: 'l', now })],
  ...fallBackWatermarkStatements({ table: 'orders', revertedLoadId: 'l', now }).map((s, i): [string, ControlStatement] => [`fallBack revert ${i}`, s]),
  ...fallBackWatermarkStatements({ table: 'orders', beforeDate: '2027-10-03', now }).map((s, i): [string, ControlStatement] => [`fallBack rewind ${i}`, s]),
  ['markApproved', markApprovedStatement({ incidentId: 'i', approver: 'paul', mode: 'rewind', decisionKey: 'd1' })],
  ['incidentHolding', incidentHoldingQuery('orders')],
  ['holdingIncidents', holdingIncidentsQuery()],
  ['unaccountedDays', unaccountedDaysQuery(['orders', 'customers'], '2027-10-04', 31)],
  ['insertApproval', insertApprovalStatement(approval)],
  ['rowsImported', rowsImportedQuery(['a', 'b', 'c'])],
];

describe('control store builders', () => {
  it.each(statements)('%s binds as many parameters as it has placeholders', (_name, s) => {
    expect(s.params.length).toBe(placeholders(s.sql));
    expect(s.params.every((p) => p !== undefined)).toBe(true);
  });

  it.each(statements)('%s names only statuses of the unions', (_name, s) => {
    for (const status of statusLiterals(s.sql)) expect([...loadStatuses, 'running', 'open', 'approved', 'resolved']).toContain(status);
  });

  it('the watermark moves forward in one upsert with one condition, never backwards', () => {
    const { sql, params } = advanceWatermarkStatement({ table: 'orders', businessDate: '2027-10-04', loadId: 'l', now });
    expect(sql.match(/WHERE/g)).toHaveLength(1);
    expect(sql).toMatch(/ON CONFLICT \(table_name\) DO UPDATE SET .* WHERE excluded\.business_date >= etl_watermarks\.business_date$/s);
    expect(params).toEqual(['orders', '2027-10-04', 'l', now]);
  });

  it('a reverted load moves the watermark back only if it had moved it; a rewind to before its date', () => {
    const [revertDelete, revertInsert] = fallBackWatermarkStatements({ table: 'orders', revertedLoadId: 'l', now });
    expect(revertDelete).toEqual({ sql: 'DELETE FROM etl_watermarks WHERE table_name = ? AND load_id = ?', params: ['orders', 'l'] });
    expect(revertInsert!.sql).toMatch(/status = 'verified' AND load_id <> \? AND NOT EXISTS/);
    const [rewindDelete, rewindInsert] = fallBackWatermarkStatements({ table: 'orders', beforeDate: '2027-10-03', now });
    expect(rewindDelete).toEqual({ sql: 'DELETE FROM etl_watermarks WHERE table_name = ?', params: ['orders'] });
    expect(rewindInsert!.params).toEqual([now, 'orders', '2027-10-03']);
  });

  it('what a rewind reverts and a restore replays, by status', () => {
    expect(statusLiterals(loads.writtenSinceQuery('orders', '2027-10-03').sql)).toEqual(['verified', 'published', 'publishing']);
    expect(statusLiterals(loads.replayedStartedSinceQuery(now).sql)).toEqual(['verified', 'deferred', 'quarantined']);
    expect(loads.markStatusStatement('l', 'deferred')).toEqual({ sql: 'UPDATE etl_loads SET status = ? WHERE load_id = ?', params: ['deferred', 'l'] });
  });

  it('an approval row binds each column to its own value', () => {
    const { sql, params } = insertApprovalStatement(approval);
    const columns = /\(([^)]*)\) VALUES/.exec(sql)![1]!.split(', ');
    expect(Object.fromEntries(columns.map((c, i) => [c, params[i]]))).toEqual(approval);
  });

  it('the audit trail writes back plain column names only', () => {
    expect(rewriteAuditStatement('signoffs', { signoff_id: 3, table_name: 'orders' })).toEqual({ sql: 'INSERT OR REPLACE INTO etl_parity_signoffs (signoff_id, table_name) VALUES (?, ?)', params: [3, 'orders'] });
    expect(() => rewriteAuditStatement('incidents', { 'x; DROP TABLE etl_loads': 1 })).toThrow(/unexpected column name in the captured etl_incidents rows/);
  });

  it('a chunk marker is literal SQL, quoted; a report reads the watermark of a quoted table name', () => {
    expect(chunkMarkerSql({ loadId: 'backfill_2027-09-30_orders', file: "O'P.csv", chunk: 2, firstLine: 2, lastLine: 9, rows: 8, at: now })).toBe(
      `INSERT INTO etl_backfill_chunks (load_id, file, chunk, first_line, last_line, rows, imported_at) VALUES ('backfill_2027-09-30_orders', 'O''P.csv', 2, 2, 9, 8, '${now}')`,
    );
    expect(watermarkDateSql('orders')).toBe("(SELECT business_date FROM etl_watermarks WHERE table_name = 'orders')");
  });
});
