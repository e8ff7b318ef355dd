import { describe, it, expect } from 'vitest';
import { lexSql, programWrites, readStatement, vdbeProgram, type VdbeInstruction } from '../../client/read-only-sql.ts';

/** A program as `Opcode(p1,p2,p3) …`, as recorded from EXPLAIN on the local D1 service. */
function program(text: string): VdbeInstruction[] {
  return text.split(' ').map((op, addr) => {
    const [, opcode, p1, p2, p3] = /^(\w+)\((-?\d+),(-?\d+),(-?\d+)\)$/.exec(op)!;
    return { addr, opcode: opcode!, p1: Number(p1), p2: Number(p2), p3: Number(p3) };
  });
}

describe('lexSql', () => {
  it('spells the text back, with strings, quoted names and comments as single tokens', () => {
    const sql = `SELECT 'it''s -- no', "a""b", [x y], \`c\`, x'41' /* ' */ FROM t -- ; tail`;
    const lexed = lexSql(sql);
    expect(lexed.ok).toBe(true);
    if (!lexed.ok) return;
    expect(lexed.value.map((t) => t.text).join('')).toBe(sql);
    expect(lexed.value.filter((t) => t.kind !== 'space' && t.kind !== 'other').map((t) => [t.kind, t.text])).toEqual([
      ['word', 'SELECT'], ['string', "'it''s -- no'"], ['quoted-name', '"a""b"'], ['quoted-name', '[x y]'], ['quoted-name', '`c`'],
      ['string', "x'41'"], ['comment', "/* ' */"], ['word', 'FROM'], ['word', 't'], ['comment', '-- ; tail'],
    ]);
  });

  it('refuses what is unterminated, naming where it starts, and NUL characters', () => {
    expect(lexSql("SELECT 'abc")).toEqual({ ok: false, reason: 'unterminated string (character 8)' });
    expect(lexSql('SELECT 1 /* note')).toEqual({ ok: false, reason: 'unterminated /* comment (character 10)' });
    expect(lexSql('SELECT "abc')).toMatchObject({ ok: false, reason: /unterminated quoted name/ });
    expect(lexSql('SELECT [abc')).toMatchObject({ ok: false, reason: /unterminated quoted name/ });
    expect(lexSql('SELECT 1\0DELETE FROM t')).toMatchObject({ ok: false, reason: /NUL/ });
    expect(lexSql('SELECT 1 -- a comment may end the text').ok).toBe(true);
  });
});

describe('readStatement', () => {
  const accepted = (sql: string) => {
    const judged = readStatement(sql);
    if (!judged.ok) throw new Error(`refused ${sql}: ${judged.reason}`);
    return judged.value;
  };
  const reason = (sql: string) => {
    const judged = readStatement(sql);
    return judged.ok ? undefined : judged.reason;
  };

  it('returns the statement without comments and its closing semicolon, and what EXPLAIN is asked about', () => {
    expect(accepted('SELECT * FROM t -- ; DELETE FROM t')).toEqual({ sql: 'SELECT * FROM t', subject: 'SELECT * FROM t' });
    expect(accepted('/* lead */ select 1 /* ; */ ; -- done\n')).toEqual({ sql: 'select 1', subject: 'select 1' });
    expect(accepted('EXPLAIN QUERY PLAN SELECT * FROM t;')).toEqual({ sql: 'EXPLAIN QUERY PLAN SELECT * FROM t', subject: 'SELECT * FROM t' });
    expect(accepted('explain values (1)')).toEqual({ sql: 'explain values (1)', subject: 'values (1)' });
    expect(accepted("WITH c(x) AS (SELECT 'DELETE') SELECT x FROM c").sql).toBe("WITH c(x) AS (SELECT 'DELETE') SELECT x FROM c");
    expect(accepted('select "update" from (select 1 as "update")').sql).toBe('select "update" from (select 1 as "update")');
  });

  it('refuses several statements, however the second one hides', () => {
    expect(reason('SELECT 1; DELETE FROM t')).toBe('one statement at a time (found 2)');
    expect(reason("SELECT 1 -- it's\n; DELETE FROM t")).toBe('one statement at a time (found 2)');
    expect(reason("SELECT 1 /* ' */; DELETE FROM t /* ' */")).toBe('one statement at a time (found 2)');
    expect(reason('SELECT 1;;SELECT 2')).toBe('one statement at a time (found 2)');
    expect(reason(' -- nothing\n ; ')).toBe('no SQL statement given');
  });

  it('refuses other first keywords, and WITH followed by a write', () => {
    for (const sql of ['DELETE FROM t', 'PRAGMA user_version = 5', 'ATTACH DATABASE "x" AS x', 'BEGIN', 'VACUUM', '(SELECT 1)', '"SELECT" 1']) {
      expect(reason(sql)).toMatch(/^only SELECT, WITH … SELECT, VALUES and EXPLAIN \[QUERY PLAN\] of them are allowed \(found /);
    }
    expect(reason('EXPLAIN DELETE FROM t')).toMatch(/\(found DELETE after EXPLAIN\)$/);
    expect(reason("WITH x AS (SELECT 1) /* ' */ DELETE FROM t WHERE 1 /* ' */")).toBe('WITH … DELETE is not allowed: warehouse query is read-only');
    expect(reason('with x as (select 1) insert into t select * from x')).toMatch(/^WITH … INSERT is not allowed/);
    expect(reason('WITH x AS (SELECT 1)')).toBe('WITH must be followed by a SELECT');
  });

  it("refuses a ';' inside a string or quoted name, which a splitter of D1's could take for the end", () => {
    expect(reason("SELECT 'a;b'")).toMatch(/^a ';' inside a string or quoted name \('a;b'\) is not accepted/);
    expect(reason('SELECT 1 AS "x;y"')).toMatch(/inside a string or quoted name/);
  });
});

describe('programWrites', () => {
  it('passes read programs, writes to temporary tables included', () => {
    const reads = [
      // SELECT DISTINCT name FROM t
      'Init(0,11,0) OpenEphemeral(1,0,0) OpenRead(0,2,0) Rewind(0,10,0) Column(0,1,1) Found(1,9,1) MakeRecord(1,1,2) IdxInsert(1,2,1) ResultRow(1,1,0) Next(0,4,0) Halt(0,0,0) Transaction(0,0,4) Goto(0,1,0)',
      // WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<5) SELECT * FROM c
      'Init(0,29,0) InitCoroutine(1,23,2) OpenPseudo(1,2,1) OpenEphemeral(2,1,0) Integer(1,3,0) MakeRecord(3,1,4) NewRowid(2,5,0) Insert(2,4,5) Rewind(2,22,0) NullRow(1,0,0) RowData(2,2,0) Delete(2,0,0) Column(1,0,6) Yield(1,0,0) Halt(0,0,0) Goto(0,1,0)',
      // SELECT * FROM t a JOIN u b ON a.name = b.v (automatic index)
      'Init(0,33,0) OpenRead(0,2,0) OpenRead(1,4,0) Rewind(0,32,0) Once(0,17,0) OpenAutoindex(2,3,0) Rewind(1,17,0) MakeRecord(3,3,2) IdxInsert(2,2,0) Next(1,9,0) ResultRow(7,5,0) Halt(0,0,0) Transaction(0,0,4) Goto(0,1,0)',
      // a window function (OpenDup of an ephemeral table)
      'Init(0,51,0) OpenEphemeral(1,2,0) OpenDup(2,1,0) MakeRecord(8,2,10) NewRowid(2,11,0) Insert(2,10,11) Delete(1,0,0) ResetSorter(1,0,0) Halt(0,0,0) Transaction(0,0,4) Goto(0,1,0)',
      // SELECT * FROM json_each('[1,2]')
      'Init(0,17,0) VOpen(0,0,0) VFilter(0,16,1) VColumn(0,0,4) ResultRow(4,8,0) VNext(0,6,0) Halt(0,0,0) Transaction(0,0,4) Goto(0,1,0)',
    ];
    for (const text of reads) expect(programWrites(program(text))).toBeUndefined();
  });

  it('names the write: a write transaction first, then the opcodes', () => {
    // DELETE FROM t
    expect(programWrites(program('Init(0,3,0) Clear(2,0,-1) Halt(0,0,0) Transaction(0,1,2) Goto(0,1,0)'))).toBe('Transaction on main with write intent');
    expect(programWrites(program('Init(0,3,0) Halt(0,0,0) Transaction(1,1,2) Goto(0,1,0)'))).toBe('Transaction on temp with write intent');
    // VACUUM INTO '/tmp/x' has no Transaction at all
    expect(programWrites(program('Init(0,4,0) String8(0,1,0) Vacuum(0,1,0) Halt(0,0,0) Goto(0,1,0)'))).toBe('Vacuum: rewrites the database file');
    // PRAGMA foreign_keys=off
    expect(programWrites(program('Init(0,4,0) Expire(1,1,0) Expire(0,0,0) Halt(0,0,0) Goto(0,1,0)'))).toMatch(/^Expire: /);
    expect(programWrites(program('Init(0,2,0) OpenWrite(0,2,0) Halt(0,0,0)'))).toBe('OpenWrite: opens a table or index for writing');
    for (const opcode of ['Destroy', 'CreateBtree', 'SetCookie', 'ParseSchema', 'DropTable', 'JournalMode', 'VUpdate', 'VBegin']) {
      expect(programWrites(program(`Init(0,2,0) ${opcode}(0,0,0) Halt(0,0,0)`))).toMatch(new RegExp(`^${opcode}: `));
    }
  });

  it('counts a cursor write as a write unless only temporary tables open that cursor, wherever they are opened', () => {
    expect(programWrites(program('Init(0,2,0) OpenRead(0,2,0) Insert(0,1,2) Halt(0,0,0)'))).toBe('Insert on cursor 0, which is not a temporary table');
    expect(programWrites(program('Init(0,2,0) IdxDelete(3,1,2) Halt(0,0,0)'))).toBe('IdxDelete on cursor 3, which is not a temporary table');
    expect(programWrites(program('Init(0,3,0) NewRowid(2,7,0) Insert(2,6,7) Halt(0,0,0) OpenEphemeral(2,1,0) Goto(0,1,0)'))).toBeUndefined();
  });
});

describe('vdbeProgram', () => {
  const columns = ['addr', 'opcode', 'p1', 'p2', 'p3', 'p4', 'p5', 'comment'];

  it('reads the rows of EXPLAIN by column name', () => {
    expect(vdbeProgram({ columns, rows: [[0, 'Init', 0, 8, 0, null, 0, null], [8, 'Transaction', 0, 0, 2, '0', 1, null]] })).toEqual({
      ok: true,
      value: [{ addr: 0, opcode: 'Init', p1: 0, p2: 8, p3: 0 }, { addr: 8, opcode: 'Transaction', p1: 0, p2: 0, p3: 2 }],
    });
  });

  it('refuses what is not a program: other columns (EXPLAIN QUERY PLAN), no rows, odd values', () => {
    expect(vdbeProgram({ columns: ['id', 'parent', 'notused', 'detail'], rows: [[2, 0, 216, 'SCAN t']] })).toMatchObject({ ok: false, reason: /did not answer EXPLAIN with a VDBE program \(columns: id, parent, notused, detail\)/ });
    expect(vdbeProgram({ columns, rows: [] })).toMatchObject({ ok: false, reason: /empty program/ });
    expect(vdbeProgram({ columns, rows: [[0, 'Init', '0', 8, 0, null, 0, null]] })).toMatchObject({ ok: false, reason: /not one/ });
  });
});
