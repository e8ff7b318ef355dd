import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Command } from 'commander';
import type { Config } from '../../worker/config.ts';
import { assertKnownTable } from '../cli-support.ts';
import { formatTable } from '../format-table.ts';
import { createProgress } from '../progress.ts';
import { rebuildAndCompare } from '../rebuild.ts';
import { connectClient } from '../temporal-client.ts';

/** `warehouse rebuild [--table T]`: rebuild from the archive into a scratch warehouse and compare checksums. */
export function registerRebuild(program: Command, loadConfig: () => Config): void {
  program
    .command('rebuild')
    .description('replay the archive into a scratch warehouse (a fresh local D1) and compare every table with the live one; exits 2 on any difference')
    .option('--table <table>', 'only this table')
    .option('--keep', 'keep the scratch warehouse under var/ to inspect it (its SQLite file is printed)')
    .option('--json', 'print the comparison as JSON')
    .option('--verbose', "show the scratch worker's log lines on the terminal (default: written to var/log/rebuild.log)")
    .action(async (options: { table?: string; keep?: boolean; json?: boolean; verbose?: boolean }) => {
      assertKnownTable(options.table);
      const config = loadConfig();
      if (!options.verbose) quietWorkerLog(join(config.paths.logDir, 'rebuild.log'), options.json ? undefined : (line) => console.log(line));
      const { client, connection } = await connectClient(config);
      try {
        const progress = createProgress({ quiet: options.json ?? false });
        const report = await rebuildAndCompare({
          config,
          client,
          ...(options.table ? { table: options.table } : {}),
          ...(options.keep ? { keep: true } : {}),
          ...(options.json ? {} : { onProgress: (line: string) => console.log(line) }),
          onStatus: (line: string) => progress.update(line),
        }).finally(() => progress.end());
        const different = report.tables.filter((t) => !t.same);
        if (different.length > 0 || report.result.failures.length > 0) process.exitCode = 2;
        if (options.json) return console.log(JSON.stringify(report, null, 2));
        console.log(
          formatTable(
            ['table', 'live versions', 'rebuilt versions', 'live current', 'rebuilt current', 'result'],
            report.tables.map((t) => [t.table, t.live.versions, t.rebuilt.versions, t.live.current, t.rebuilt.current, t.same ? 'same' : `DIFFERENT (live ${t.live.sha256.slice(0, 12)}, rebuilt ${t.rebuilt.sha256.slice(0, 12)})`]),
          ),
        );
        for (const f of report.result.failures) console.log(`replay failed: ${f.table} ${f.businessDate}: ${f.errorType}: ${f.message}`);
        if (report.result.notReplayed) console.log(`${report.result.notReplayed} later load(s) not replayed: the rebuild stops at a failed load`);
        console.log(different.length ? `${different.length} table(s) differ from a rebuild of the archive: ${different.map((t) => t.table).join(', ')}` : `every table equals its rebuild from the archive (${report.loads} loads replayed)`);
        if (report.scratchDir) console.log(`scratch warehouse kept in ${report.scratchDir}${report.scratchDatabase ? `; open it with any SQLite tool: sqlite3 ${report.scratchDatabase}` : ''}`);
      } finally {
        await connection.close();
      }
    });
}

/**
 * The scratch worker runs in this process: its log (thousands of lines for a long archive)
 * goes to `file`, not the terminal; the terminal is told where once.
 */
function quietWorkerLog(file: string, say?: (line: string) => void): void {
  mkdirSync(dirname(file), { recursive: true });
  Runtime.install({
    logger: new DefaultLogger('INFO', (entry) => {
      const meta = entry.meta && Object.keys(entry.meta).length ? ` ${JSON.stringify(entry.meta)}` : '';
      appendFileSync(file, `${new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString()} ${entry.level} ${entry.message}${meta}\n`);
    }),
  });
  say?.(`the scratch worker's log: ${file}`);
}
