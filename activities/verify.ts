import { log } from '@temporalio/activity';
import { whileHeartbeating } from './keep-alive.ts';
import { decimalText, equalDecimals, parseDecimal, type DecimalResult } from '../common/decimal.ts';
import { etlFailure, type ReconciledMeasure } from '../common/errors.ts';
import { contractFor } from '../contracts/index.ts';
import type { TableContract } from '../contracts/types.ts';
import type { D1Client } from '../d1/client.ts';
import { controlSql } from './control-store.ts';
import { quoteIdentifier as q } from '../d1/pack.ts';
import { currentDigestQuery, digestOfAnswer, digestText, sameDigest } from '../history/current-digest.ts';
import { clearStageStatements } from '../history/revert.ts';
import { storedName } from '../history/stored-columns.ts';
import type { PublishResult } from './publish.ts';
import type { StageResult } from './stage.ts';
import type { ValidationReport } from './validate.ts';

/** What verification needs. */
export interface VerifyDeps {
  d1: Pick<D1Client, 'batch'>;
}

/** What the earlier stages claimed, to be reconciled against D1. */
export interface VerifyInput {
  table: string;
  businessDate: string;
  loadId: string;
  fileName: string;
  validated: ValidationReport;
  staged: StageResult;
  published: PublishResult;
}

/**
 * verify: reconcile the file, the stage and the history. file rows = valid + rejected;
 * staged = valid; every staged row is the current version of its key; a full snapshot's
 * current rows = staged rows (staged as a keyed diff: = valid rows, its absent keys = the
 * tombstones, and the digest of the current rows = the file's); versions inserted/closed match what the load id carries;
 * control totals of the file equal those loaded. Then the stage rows are dropped. Safe to
 * resend: a load already marked verified is not checked again.
 */
export const createVerifyActivities = (deps: VerifyDeps) => ({
  verifyLoad(input: VerifyInput): Promise<void> {
    return whileHeartbeating(async () => {
      const contract = contractFor(input.table);
      const t = `"${contract.table}"`;
      const stage = `"_stage_${contract.table}"`;
      const keyJoin = contract.key.map((k) => `h."${k}" = s."${k}"`).join(' AND ');
      const where = { table: input.table, businessDate: input.businessDate, file: input.fileName };

      const totals = contract.controlTotals.map((name) => controlTotalSql(contract, name)).join(', ');
      // A keyed diff sent only the changes: the rows it did not send are proven current by the digest.
      const diff = input.staged.diff;
      // Every measure D1 is asked for, in one request (one batch: one consistent read).
      const results = await deps.d1.batch<Record<string, string | number | null>>([
        controlSql.loads.loadStatusQuery(input.loadId),
        { sql: `SELECT count(*) AS n FROM ${stage} s JOIN ${t} h ON ${keyJoin} AND h._is_current = 1 AND h._is_deleted = 0 AND h._row_hash = s._row_hash WHERE s._load_id = ?`, params: [input.loadId] },
        { sql: `SELECT count(*) AS n FROM "${contract.table}_current"` },
        { sql: `SELECT count(*) AS n FROM ${t} WHERE _loaded_by = ?`, params: [input.loadId] },
        { sql: `SELECT count(*) AS n FROM ${t} WHERE _closed_by = ?`, params: [input.loadId] },
        { sql: `SELECT count(*) AS n FROM ${t} WHERE _loaded_by = ? AND _is_deleted = 1`, params: [input.loadId] },
        ...(totals
          ? [contract.mode === 'full' ? { sql: `SELECT ${totals} FROM "${contract.table}_current" h` } : { sql: `SELECT ${totals} FROM ${stage} h WHERE h._load_id = ?`, params: [input.loadId] }]
          : []),
        ...(diff ? [currentDigestQuery(contract)] : []),
      ]);
      // The last batch below drops the stage rows and marks the load verified in one request: if D1
      // applied it and the answer was lost, this retry finds the load verified and has nothing to check.
      if (results[0]?.results[0]?.status === 'verified') {
        log.info('load already verified', { table: input.table, businessDate: input.businessDate, loadId: input.loadId });
        return;
      }
      const [matched, current, inserted, closed, tombstones] = results.slice(1, 6).map((r) => Number(r.results[0]?.n ?? 0)) as [number, number, number, number, number];
      const loadedTotals = totals ? (results[6]?.results[0] as Record<string, string> | undefined) : undefined;
      const currentDigest = diff ? digestOfAnswer(results.at(-1)?.results[0]) : undefined;

      const { validated, staged, published } = input;

      const scale = (name: string) => {
        const column = contract.columns.find((c) => c.name === name);
        return column?.type.kind === 'decimal' ? column.type.scale : 0;
      };
      const loaded = loadedTotals ?? {};
      // Every measure, in the order checked: a mismatch carries all of them (reason.json shows the whole reconciliation).
      const measure = (name: string, expected: number, actual: number): ReconciledMeasure => ({ measure: name, expected, actual, ok: expected === actual });
      const reconciliation = [
        measure('file rows = valid + rejected', validated.rowsRead, validated.rowsValid + validated.rowsRejected),
        ...(diff
          ? [measure(`staged rows + rows unchanged since load ${diff.against} = valid rows`, validated.rowsValid, staged.rowsStaged + diff.rowsUnchanged)]
          : [measure('staged rows = valid rows', validated.rowsValid, staged.rowsStaged)]),
        measure('staged rows that are the current version of their key', staged.rowsStaged, matched),
        ...(contract.mode === 'full' && !diff ? [measure('current rows of a full snapshot = staged rows', staged.rowsStaged, current)] : []),
        ...(diff ? [measure('current rows of a full snapshot = valid rows', validated.rowsValid, current)] : []),
        measure('versions inserted by the load', published.versionsInserted, inserted),
        measure('versions closed by the load', published.versionsClosed, closed),
        measure('tombstones written by the load', published.tombstones, tombstones),
        ...(diff && currentDigest ? [measure('keys absent from the file = tombstones written', diff.keysAbsent, tombstones), digestMeasure(validated.keyIndex?.digest, currentDigest)] : []),
        ...contract.controlTotals.map((name) => reconcileControlTotal(name, validated.controlTotals[name] ?? '0', loaded[name] ?? '0', scale(name))),
      ];
      const failed = reconciliation.find((m) => !m.ok);
      if (failed) {
        const name = contract.controlTotals.find((c) => failed.measure === `control total of ${c}`);
        if (name) {
          throw etlFailure('ControlTotalMismatch', `control total of ${name}: file says ${failed.expected}, warehouse has ${failed.actual} (load ${input.loadId})`, { ...where, column: name, rule: 'control total', reconciliation });
        }
        throw etlFailure('CountMismatch', `${failed.measure}: expected ${failed.expected}, found ${failed.actual} (load ${input.loadId})`, { ...where, rule: failed.measure, reconciliation });
      }

      await deps.d1.batch([
        ...clearStageStatements(contract, input.loadId),
        controlSql.loads.markVerifiedStatement(input.loadId, new Date().toISOString()),
      ]);
      log.info('load verified', { table: input.table, businessDate: input.businessDate, loadId: input.loadId });
    });
  },
});

/** The file's rows (validation's key index) against the table's current rows in D1, by their digests. */
function digestMeasure(file: ReturnType<typeof digestOfAnswer> | undefined, current: ReturnType<typeof digestOfAnswer>): ReconciledMeasure {
  return {
    measure: "current rows are the file's rows (digest of their row hashes)",
    expected: file ? digestText(file) : 'no key index from validation',
    actual: digestText(current),
    ok: file !== undefined && sameDigest(file, current),
  };
}

/**
 * The SQL of one control total: the exact integer `SUM` of the stored column (a decimal's
 * `<name>_units`, a whole number itself) over `h`, as text, so a sum beyond 2^53 travels from
 * D1 exactly too.
 */
export function controlTotalSql(contract: TableContract, name: string): string {
  const column = contract.columns.find((c) => c.name === name);
  const stored = column ? storedName(column) : name;
  return `CAST(COALESCE(SUM(h.${q(stored)}), 0) AS TEXT) AS ${q(name)}`;
}

/**
 * One control total reconciled exactly: the file's sum (the validate report's text, e.g.
 * `1234.50`) against D1's `SUM` of the stored units (controlTotalSql: `123450` at scale 2),
 * compared by common/decimal.ts. A total that cannot be read exactly on either side does not
 * match, and the measure says why.
 */
export function reconcileControlTotal(name: string, fileTotal: string, warehouseUnits: string | number, scale: number): ReconciledMeasure {
  const expected = parseDecimal(fileTotal, { scale, decimalSeparator: '.', unbounded: true });
  const actual = readUnits(String(warehouseUnits), scale);
  return {
    measure: `control total of ${name}`,
    expected: expected.ok ? fileTotal : `${fileTotal} (${expected.rule})`,
    actual: actual.ok ? decimalText(actual.value) : `${warehouseUnits} (${actual.rule})`,
    ok: expected.ok && actual.ok && equalDecimals(expected.value, actual.value),
  };
}

/** D1's text of an integer sum of units (`-123450`) as an amount at `scale`. */
function readUnits(text: string, scale: number): DecimalResult {
  return /^-?\d+$/.test(text) ? { ok: true, value: { units: BigInt(text), scale } } : { ok: false, rule: 'not a whole number of units' };
}
