import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { describe, it, expect, inject } from 'vitest';

const historiesDir = fileURLToPath(new URL('./histories/', import.meta.url));

/** `legacy-<id>.json` (recorded before a change) and `<id>~<variant>.json` (another run of the same id) replay as `<id>`. */
const workflowIdOf = (file: string) => file.replace(/^legacy-/, '').replace(/(~[\w-]+)?\.json$/, '');

/**
 * Recorded histories of real runs, replayed against today's workflow code: a change
 * that would break workflows already running in production fails here. Record new
 * ones with RECORD_HISTORIES=test/replay/histories npm test -- test/workflows/nightly.test.ts test/workflows/bad-day.test.ts test/workflows/parity.test.ts
 * (test/workflows/web-ui.test.ts records the `~web-ui` ones)
 * (legacy-* files were recorded by releases before a change they must keep replaying).
 */
describe('replay of recorded workflow histories', async () => {
  const files = (await readdir(historiesDir)).filter((f) => f.endsWith('.json')).sort();

  it('has recorded histories of a nightly run, a table load, incidents approved by name (legacy) and signed, a rollback and a sign-off', () => {
    const has = (pattern: RegExp) => files.some((f) => pattern.test(f));
    expect(has(/^nightly-\d{4}-\d{2}-\d{2}\.json$/)).toBe(true);
    expect(has(/^nightly-\d{4}-\d{2}-\d{2}-[a-z_]+\.json$/)).toBe(true);
    expect(has(/^legacy-incident-[a-z_]+-\d{4}-\d{2}-\d{2}\.json$/)).toBe(true);
    expect(has(/^incident-[a-z_]+-\d{4}-\d{2}-\d{2}\.json$/)).toBe(true);
    expect(has(/^rollback-.+\.json$/)).toBe(true);
    expect(has(/^parity-signoff-.+\.json$/)).toBe(true);
  });

  it('has recorded histories of the failure and maintenance paths: a quarantined load, a time-travel repair, re-checks, a rebuild, a scheduled night, a resumed backfill and one run again, the lease and a rollback that waited for it', () => {
    const has = (pattern: RegExp) => files.some((f) => pattern.test(f));
    expect(has(/^nightly-2026-08-05-orders\.json$/)).toBe(true); // RowValidationFailed: quarantined, incident opened
    expect(has(/^incident-[a-z_]+-\d{4}-\d{2}-\d{2}~time-travel\.json$/)).toBe(true);
    expect(has(/^recheck-\d{4}-\d{2}-\d{2}\.json$/)).toBe(true);
    expect(has(/^nightly-\d{4}-\d{2}-\d{2}-recheck-\d{4}-\d{2}-\d{2}\.json$/)).toBe(true);
    expect(has(/^rebuild-[0-9a-f-]{36}\.json$/)).toBe(true);
    expect(has(/^scheduled-.+\.json$/)).toBe(true);
    expect(has(/^backfill-\d{4}-\d{2}-\d{2}~resumed-after-kill\.json$/)).toBe(true);
    expect(has(/^backfill-\d{4}-\d{2}-\d{2}~run-again\.json$/)).toBe(true); // a finished backfill run again: its first bookmark kept (backfill-first-bookmark)
    expect(has(/^warehouse-lease-.+\.json$/)).toBe(true);
    expect(has(/^rollback-.+~after-lease\.json$/)).toBe(true);
  });

  it('has recorded histories of the Web UI path: search attributes, summaries, progress by query and, before it, by signals (test/workflows/web-ui.test.ts)', () => {
    const has = (pattern: RegExp) => files.some((f) => pattern.test(f));
    expect(has(/^nightly-\d{4}-\d{2}-\d{2}~web-ui\.json$/)).toBe(true); // still running: a table waits for its file
    expect(has(/^nightly-\d{4}-\d{2}-\d{2}-customers-\d{4}-\d{2}-\d{2}~web-ui\.json$/)).toBe(true); // loaded, each step answered by its loadStep query, a small file's steps local
    // The same run before patch local-steps: every step an activity of its own.
    expect(has(/^nightly-\d{4}-\d{2}-\d{2}-customers-\d{4}-\d{2}-\d{2}~remote-steps\.json$/)).toBe(true);
    expect(has(/^nightly-\d{4}-\d{2}-\d{2}-products-\d{4}-\d{2}-\d{2}~remote-steps\.json$/)).toBe(true);
    expect(has(/^nightly-\d{4}-\d{2}-\d{2}-products-\d{4}-\d{2}-\d{2}~web-ui\.json$/)).toBe(true); // quarantined
    expect(has(/^nightly-\d{4}-\d{2}-\d{2}-orders-\d{4}-\d{2}-\d{2}~web-ui\.json$/)).toBe(true); // its file not there at the first look: waiting in fetchExport
    // The same run before patch stages-by-query: each step signalled to the night.
    expect(has(/^nightly-\d{4}-\d{2}-\d{2}~stage-signals\.json$/)).toBe(true);
    expect(has(/^nightly-\d{4}-\d{2}-\d{2}-customers-\d{4}-\d{2}-\d{2}~stage-signals\.json$/)).toBe(true);
  });

  it('bundles no validation library: every new workflow evaluates the whole bundle afresh (zod stays with the activities and the CLI)', async () => {
    const code = await readFile(inject('workflowBundlePath'), 'utf8');
    expect(code).toContain('./workflows/nightly-run.ts');
    expect(code).not.toContain('node_modules/zod/');
  });

  it.each(files)('replays %s deterministically', async (file) => {
    const code = await readFile(inject('workflowBundlePath'), 'utf8');
    const history = historyFromJSON(JSON.parse(await readFile(join(historiesDir, file), 'utf8')));
    await expect(Worker.runReplayHistory({ workflowBundle: { code } }, history, workflowIdOf(file))).resolves.toBeUndefined();
  });
});
