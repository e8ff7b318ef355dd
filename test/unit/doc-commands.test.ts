import { readFileSync } from 'node:fs';
import { CommanderError, type Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../client/program.ts';
import { parityQueries } from '../../history/parity-queries.ts';
import { docCommands, shellWords, type DocCommand } from '../support/doc-commands.ts';

const documents = ['README.md', 'docs/runbook.md', 'docs/reports.md', 'ops/README.md'];
const commands = documents.flatMap((file) => docCommands(file, readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8')));

/**
 * What the CLI says about a command line: nothing when it parses (every command's action
 * replaced by a no-op, so nothing runs and no configuration is read), else commander's refusal.
 */
async function refusalOf(args: string[]): Promise<string | undefined> {
  let said = '';
  const program = buildProgram(() => {
    throw new Error('a parsed command line read the configuration');
  }, { writeOut: () => undefined, writeErr: (text) => (said += text) });
  const silence = (command: Command) => {
    command.action(() => undefined);
    command.commands.forEach(silence);
  };
  program.commands.forEach(silence);
  try {
    await program.parseAsync(args, { from: 'user' });
    return undefined;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? undefined : said.trim() || error.message; // 0: --help
    throw error;
  }
}

describe('the command lines of the README and the runbook', () => {
  it('are found in every document that shows them', () => {
    const files = new Set(commands.map((c) => c.file));
    expect([...files].sort()).toEqual(['README.md', 'docs/reports.md', 'docs/runbook.md', 'ops/README.md']);
    expect(commands.length).toBeGreaterThan(30);
  });

  it.each(commands.map((c): [string, DocCommand] => [`${c.file}:${c.line} ${c.text}`, c]))('%s is accepted by the CLI', async (_, command) => {
    expect(await refusalOf(command.args)).toBeUndefined();
  });

  it('a command line the CLI refuses is caught (the check can fail)', async () => {
    expect(await refusalOf(shellWords('generate --dump --to 2025-12-31 --out var/dump'))).toMatch(/--from/);
    expect(await refusalOf(shellWords('status --chek'))).toMatch(/unknown option '--chek'/);
    expect(await refusalOf(shellWords('approve'))).toMatch(/missing required argument/);
  });
});

describe('docCommands', () => {
  it('reads code blocks and inline spans, drops comments, keeps quoted SQL whole', () => {
    const found = docCommands('x.md', [
      'Run `warehouse status --json` now.',
      '',
      '    ./warehouse recheck --date 2026-03-04 [--table orders]   # late fix',
      '```sh',
      `docker compose exec -T worker warehouse query "SELECT 1 # not a comment" --json`,
      '```',
      '`warehouse approve INCIDENT [--mode rewind | time-travel]` is a synopsis, `warehouse query` a name.',
    ].join('\n'));
    expect(found.map((c) => [c.line, c.args])).toEqual([
      [1, ['status', '--json']],
      [3, ['recheck', '--date', '2026-03-04', '--table', 'orders']],
      [5, ['query', 'SELECT 1 # not a comment', '--json']],
    ]);
  });
});

describe("the runbook's table of parity queries", () => {
  const runbook = readFileSync(new URL('../../docs/runbook.md', import.meta.url), 'utf8');
  it.each(parityQueries.map((q) => [q.name, q] as const))('%s: its table, screen and header line, as the code has them', (_, query) => {
    expect(runbook).toContain(`| \`${query.name}\` | ${query.table} | ${query.screen} | \`${query.columns.map((c) => c.header).join(';')}\` |`);
  });
});
