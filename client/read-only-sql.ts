/**
 * `warehouse query` is read-only, and the database engine decides what that means. The REST API
 * cannot open a read-only connection, so a query passes two gates before it runs:
 *
 * 1. A SQLite lexer (`lexSql`) sees exactly one statement whose first keyword is SELECT, WITH or
 *    VALUES (or EXPLAIN [QUERY PLAN] of one). The allow-list stays because SQLite's own notion of
 *    read-only (`sqlite3_stmt_readonly`) calls ATTACH, DETACH, BEGIN, SAVEPOINT and some PRAGMAs
 *    read-only, and because PRAGMAs take effect while they are compiled.
 * 2. D1 compiles `EXPLAIN <statement>` and `programWrites` reads the VDBE program: a write
 *    transaction, or any opcode that writes a table, an index or the schema, refuses it.
 *
 * What runs is the statement as checked: comments blanked out, the closing `;` dropped, and no `;`
 * anywhere else, so no splitter of D1's (whose rules are not this lexer's) can find a second one.
 */
import { D1SqlError } from '../d1/errors.ts';
import type { D1Client, D1RawResult } from '../d1/client.ts';
import { UserError } from './cli-support.ts';

/** One token of SQLite's SQL. Whitespace and comments are tokens too, so the tokens spell the text. */
export interface SqlToken {
  kind: 'word' | 'string' | 'quoted-name' | 'number' | 'semicolon' | 'comment' | 'space' | 'other';
  text: string;
  /** Offset of the token's first character in the SQL text. */
  start: number;
}

/** A judgement: a value, or why not. */
export type Judged<T> = { ok: true; value: T } | { ok: false; reason: string };

/** A statement that passed the lexical gate. */
export interface ReadStatement {
  /** The statement to run: the text given with comments blanked out and the closing `;` dropped. */
  sql: string;
  /** The statement the engine is asked about (`EXPLAIN <subject>`): `sql` without an EXPLAIN [QUERY PLAN] of its own. */
  subject: string;
}

/** One instruction of a VDBE program, as `EXPLAIN` lists it. */
export interface VdbeInstruction {
  addr: number;
  opcode: string;
  p1: number;
  p2: number;
  p3: number;
}

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f';
const isDigit = (c: string) => c >= '0' && c <= '9';
/** SQLite's identifier characters: ASCII letters, digits, `_`, `$`, and every character above 0x7f. */
const isIdChar = (c: string) => /[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) > 0x7f;
const isIdStart = (c: string) => /[A-Za-z_]/.test(c) || c.charCodeAt(0) > 0x7f;

/**
 * Splits SQL into tokens the way SQLite's tokenizer does for what matters here: strings ('…', ''
 * escapes; X'…' blobs), quoted names ("…", `…` with doubled escapes, […]), `--` and block comments,
 * words and `;`. Anything unterminated is refused, and so is a NUL (SQLite would stop reading there).
 */
export function lexSql(sql: string): Judged<SqlToken[]> {
  const tokens: SqlToken[] = [];
  const n = sql.length;
  let i = 0;
  const push = (kind: SqlToken['kind'], end: number) => {
    tokens.push({ kind, text: sql.slice(i, end), start: i });
    i = end;
  };
  const closing = (quote: string, from: number, doubledEscapes: boolean): number => {
    for (let j = from; j < n; j++) {
      if (sql[j] !== quote) continue;
      if (doubledEscapes && sql[j + 1] === quote) j++;
      else return j + 1;
    }
    return -1;
  };
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1] ?? '';
    const at = `(character ${i + 1})`;
    if (c === '\0') return { ok: false, reason: `the SQL holds a NUL character ${at}` };
    if (isSpace(c)) {
      let j = i + 1;
      while (j < n && isSpace(sql[j]!)) j++;
      push('space', j);
    } else if (c === '-' && next === '-') {
      const eol = sql.indexOf('\n', i);
      push('comment', eol === -1 ? n : eol);
    } else if (c === '/' && next === '*') {
      const close = sql.indexOf('*/', i + 2);
      if (close === -1) return { ok: false, reason: `unterminated /* comment ${at}` };
      push('comment', close + 2);
    } else if (c === "'" || ((c === 'x' || c === 'X') && next === "'")) {
      const end = closing("'", c === "'" ? i + 1 : i + 2, true);
      if (end === -1) return { ok: false, reason: `unterminated string ${at}` };
      push('string', end);
    } else if (c === '"' || c === '`' || c === '[') {
      const end = c === '[' ? closing(']', i + 1, false) : closing(c, i + 1, true);
      if (end === -1) return { ok: false, reason: `unterminated quoted name ${at}` };
      push('quoted-name', end);
    } else if (isDigit(c) || (c === '.' && isDigit(next))) {
      let j = i + 1;
      while (j < n && (isIdChar(sql[j]!) || sql[j] === '.' || ((sql[j] === '+' || sql[j] === '-') && /[eE]/.test(sql[j - 1]!)))) j++;
      push('number', j);
    } else if (isIdStart(c)) {
      let j = i + 1;
      while (j < n && isIdChar(sql[j]!)) j++;
      push('word', j);
    } else {
      push(c === ';' ? 'semicolon' : 'other', i + 1);
    }
  }
  return { ok: true, value: tokens };
}

const readVerbs = new Set(['SELECT', 'WITH', 'VALUES']);
const statementVerbs = new Set(['SELECT', 'VALUES', 'INSERT', 'REPLACE', 'UPDATE', 'DELETE']);
const allowed = 'only SELECT, WITH … SELECT, VALUES and EXPLAIN [QUERY PLAN] of them are allowed';
/** A token that is neither whitespace nor a comment. */
const isCode = (t: SqlToken) => t.kind !== 'space' && t.kind !== 'comment';
const upper = (t: SqlToken | undefined) => (t?.kind === 'word' ? t.text.toUpperCase() : undefined);

/**
 * The lexical gate: one statement (a closing `;` and comments are fine), led by SELECT, WITH or
 * VALUES, or by EXPLAIN [QUERY PLAN] and one of those; for WITH, the statement after the common
 * table expressions must be a SELECT or VALUES. Pure.
 */
export function readStatement(sql: string): Judged<ReadStatement> {
  const lexed = lexSql(sql);
  if (!lexed.ok) return lexed;
  const tokens = lexed.value;
  const statements = countStatements(tokens);
  if (statements === 0) return { ok: false, reason: 'no SQL statement given' };
  if (statements > 1) return { ok: false, reason: `one statement at a time (found ${statements})` };
  const first = tokens.findIndex((t) => isCode(t) && t.kind !== 'semicolon');
  const end = tokens.findIndex((t, k) => k > first && t.kind === 'semicolon');
  const body = tokens.slice(first, end === -1 ? tokens.length : end);
  const inString = body.find((t) => (t.kind === 'string' || t.kind === 'quoted-name') && t.text.includes(';'));
  if (inString) return { ok: false, reason: `a ';' inside a string or quoted name (${inString.text.slice(0, 40)}) is not accepted, as D1 might split the statement there; write char(59) instead` };

  const code = body.map((t, index) => ({ t, index })).filter(({ t }) => isCode(t));
  let inner = 0; // index in `code` of the statement EXPLAIN is about
  if (upper(code[0]?.t) === 'EXPLAIN') inner = upper(code[1]?.t) === 'QUERY' && upper(code[2]?.t) === 'PLAN' ? 3 : 1;
  const verb = upper(code[inner]?.t);
  if (!verb || !readVerbs.has(verb)) return { ok: false, reason: `${allowed} (found ${code[inner]?.t.text.slice(0, 40) ?? 'nothing'}${inner ? ' after EXPLAIN' : ''})` };
  if (verb === 'WITH') {
    const main = mainVerbAfterWith(code.slice(inner + 1).map(({ t }) => t));
    if (main !== 'SELECT' && main !== 'VALUES') return { ok: false, reason: main ? `WITH … ${main} is not allowed: warehouse query is read-only` : 'WITH must be followed by a SELECT' };
  }
  const text = (from: number) => body.slice(from).map((t) => (t.kind === 'comment' ? ' ' : t.text)).join('').trim();
  return { ok: true, value: { sql: text(0), subject: text(code[inner]!.index) } };
}

/** How many statements the tokens hold: runs between `;` with anything but whitespace and comments. */
function countStatements(tokens: readonly SqlToken[]): number {
  let count = 0;
  let empty = true;
  for (const t of [...tokens, { kind: 'semicolon', text: ';', start: -1 } as const]) {
    if (t.kind === 'semicolon') {
      if (!empty) count++;
      empty = true;
    } else if (isCode(t)) {
      empty = false;
    }
  }
  return count;
}

/** The first statement keyword outside parentheses after WITH's common table expressions. */
function mainVerbAfterWith(tokens: readonly SqlToken[]): string | undefined {
  let depth = 0;
  for (const t of tokens) {
    if (t.text === '(') depth++;
    else if (t.text === ')') depth--;
    else if (depth === 0 && statementVerbs.has(upper(t) ?? '')) return upper(t);
  }
  return undefined;
}

/** Why `sql` does not pass the lexical gate, or undefined when it does. Pure. */
export function readOnlyViolation(sql: string): string | undefined {
  const judged = readStatement(sql);
  return judged.ok ? undefined : judged.reason;
}

/** Opcodes that write, whatever their operands: tables, indexes, the schema, the file, settings. */
const writingOpcodes: Record<string, string> = {
  OpenWrite: 'opens a table or index for writing',
  Destroy: 'drops a table or index',
  Clear: 'deletes every row of a table',
  CreateBtree: 'creates a table or index',
  SetCookie: 'changes the schema version',
  ParseSchema: 'changes the schema',
  DropTable: 'drops a table',
  DropIndex: 'drops an index',
  DropTrigger: 'drops a trigger',
  Vacuum: 'rewrites the database file',
  VacuumInto: 'writes a copy of the database',
  IncrVacuum: 'rewrites the database file',
  SqlExec: 'runs nested SQL',
  LoadAnalysis: 'reloads the ANALYZE statistics',
  JournalMode: 'changes the journal mode',
  Checkpoint: 'checkpoints the write-ahead log',
  AutoCommit: 'begins or ends a transaction',
  Savepoint: 'opens or closes a savepoint',
  MaxPgcnt: 'changes the page limit',
  Expire: 'expires prepared statements (a schema or setting change)',
  VBegin: 'writes to a virtual table',
  VUpdate: 'writes to a virtual table',
  VCreate: 'creates a virtual table',
  VDestroy: 'drops a virtual table',
  VRename: 'renames a virtual table',
  Program: 'runs a trigger',
  FkCounter: 'counts the foreign-key effects of a write',
};
/** Opcodes that write through a cursor: harmless on a temporary (ephemeral) table, a write on any other. */
const cursorWrites = new Set(['Insert', 'NewRowid', 'Delete', 'IdxInsert', 'IdxDelete']);
/** Opcodes that open temporary cursors (DISTINCT, UNION, IN (…), materialised CTEs, automatic indexes, sorters). */
const temporaryOpens = new Set(['OpenEphemeral', 'OpenAutoindex', 'OpenDup', 'SorterOpen', 'OpenPseudo']);
const databaseName = (p1: number) => (p1 === 0 ? 'main' : p1 === 1 ? 'temp' : `attached database ${p1}`);

/**
 * What in a VDBE program writes to the database, or undefined when nothing does. A Transaction with
 * p2 ≠ 0 is what `sqlite3_stmt_readonly` looks at; the opcodes are checked as well, conservatively. Pure.
 */
export function programWrites(program: readonly VdbeInstruction[]): string | undefined {
  const writeTransaction = program.find((op) => op.opcode === 'Transaction' && op.p2 !== 0);
  if (writeTransaction) return `Transaction on ${databaseName(writeTransaction.p1)} with write intent`;
  const opened = (kinds: (opcode: string) => boolean) => new Set(program.filter((op) => kinds(op.opcode)).map((op) => op.p1));
  const persistent = opened((o) => !temporaryOpens.has(o) && /^(Open|Reopen)/.test(o));
  const temporary = opened((o) => temporaryOpens.has(o));
  for (const op of program) {
    const what = writingOpcodes[op.opcode];
    if (what) return `${op.opcode}: ${what}`;
    if (op.opcode === 'TableLock' && op.p3 !== 0) return 'TableLock: takes a write lock';
    if (cursorWrites.has(op.opcode) && (!temporary.has(op.p1) || persistent.has(op.p1))) return `${op.opcode} on cursor ${op.p1}, which is not a temporary table`;
  }
  return undefined;
}

/** The VDBE program in an `EXPLAIN` result, or why the result is not one (columns addr, opcode, p1, p2, p3…). Pure. */
export function vdbeProgram(result: Pick<D1RawResult, 'columns' | 'rows'>): Judged<VdbeInstruction[]> {
  const column = (name: string) => result.columns.indexOf(name);
  const [addr, opcode, p1, p2, p3] = ['addr', 'opcode', 'p1', 'p2', 'p3'].map(column) as [number, number, number, number, number];
  if ([addr, opcode, p1, p2, p3].includes(-1)) return { ok: false, reason: `D1 did not answer EXPLAIN with a VDBE program (columns: ${result.columns.join(', ') || 'none'})` };
  if (result.rows.length === 0) return { ok: false, reason: 'D1 answered EXPLAIN with an empty program' };
  const program: VdbeInstruction[] = [];
  for (const row of result.rows) {
    const op = { addr: row[addr], opcode: row[opcode], p1: row[p1], p2: row[p2], p3: row[p3] };
    if (typeof op.opcode !== 'string' || ![op.addr, op.p1, op.p2, op.p3].every((v) => typeof v === 'number')) {
      return { ok: false, reason: `D1 answered EXPLAIN with an instruction that is not one: ${JSON.stringify(row).slice(0, 80)}` };
    }
    program.push(op as VdbeInstruction);
  }
  return { ok: true, value: program };
}

/**
 * Asks D1 to compile `EXPLAIN <statement>` and throws a UserError when the program writes, or when
 * D1 cannot show it does not: an EXPLAIN D1 refuses, or an answer that is not a program, refuses.
 */
export async function assertProgramReadOnly(d1: Pick<D1Client, 'raw'>, statement: string): Promise<void> {
  const [result] = await d1.raw(`EXPLAIN ${statement}`).catch((error: unknown) => {
    if (error instanceof D1SqlError) throw new UserError(`query refused: D1 could not compile the statement to check that it only reads: ${error.d1Message}`);
    throw error;
  });
  const program = vdbeProgram(result ?? { columns: [], rows: [] });
  if (!program.ok) throw new UserError(`query refused: ${program.reason}, so it cannot be shown to only read`);
  const writes = programWrites(program.value);
  if (writes) throw new UserError(`query refused: the statement writes to the database (${writes})`);
}

/**
 * Both gates: returns the statement to run, or throws a UserError naming what was refused. The
 * EXPLAIN goes through `d1`, so use the read client (the read token) here too.
 */
export async function assertReadOnly(d1: Pick<D1Client, 'raw'>, sql: string): Promise<ReadStatement> {
  const judged = readStatement(sql);
  if (!judged.ok) throw new UserError(`query refused: ${judged.reason}`);
  await assertProgramReadOnly(d1, judged.value.subject);
  return judged.value;
}
