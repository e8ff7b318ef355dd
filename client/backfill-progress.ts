import type { BackfillProgress } from '../workflows/index.ts';

/**
 * The backfill's progress bar, pure: what the workflow reports (phase, files) and the rows
 * D1 holds, measured into rows/s and an ETA by a sliding window of samples.
 */

/** One reading of the rows imported so far, at a time in ms. */
export interface RowSample {
  at: number;
  rows: number;
}

/** Rows per second over the last `windowMs` of samples (from the oldest kept to the newest). */
export class RateMeter {
  readonly #windowMs: number;
  #samples: RowSample[] = [];

  constructor(windowMs = 30_000) {
    this.#windowMs = windowMs;
  }

  add(sample: RowSample): void {
    this.#samples.push(sample);
    // Keep one sample older than the window, so the rate always spans the whole window.
    while (this.#samples.length > 2 && sample.at - this.#samples[1]!.at >= this.#windowMs) this.#samples.shift();
  }

  /** Rows per second, or undefined until two samples at least 1 s apart exist. */
  rowsPerSecond(): number | undefined {
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    if (!first || !last || last.at - first.at < 1000) return undefined;
    return ((last.rows - first.rows) * 1000) / (last.at - first.at);
  }
}

/** One line: phase, a bar of rows (files while validating), counts, rows/s, ETA and the current file. */
export function formatBackfillProgress(progress: BackfillProgress, rowsImported: number, rowsPerSecond: number | undefined, width = 30): string {
  const { phase, filesTotal, rowsTotal } = progress;
  if (phase === 'planning') return 'backfill: reading the dump manifest…';
  const current = progress.currentFile ? `  ${progress.currentFile}` : '';
  if (phase === 'validating') {
    return `validating ${bar(progress.filesValidated, filesTotal, width)} ${progress.filesValidated}/${filesTotal} files${current}`;
  }
  const rows = `${thousands(rowsImported)}/${thousands(rowsTotal)} rows`;
  const rate = rowsPerSecond === undefined ? '' : `  ${thousands(Math.round(rowsPerSecond))} rows/s`;
  const remaining = rowsTotal - rowsImported;
  const eta = rowsPerSecond && rowsPerSecond > 0 && remaining > 0 ? `  ETA ${duration((remaining / rowsPerSecond) * 1000)}` : '';
  const label = phase === 'importing' ? 'importing ' : `${phase.padEnd(10)}`;
  return `${label}${bar(rowsImported, rowsTotal, width)} ${percent(rowsImported, rowsTotal)} ${rows}${rate}${eta}  files ${progress.filesImported}/${filesTotal}${phase === 'importing' ? current : ''}`;
}

function bar(done: number, total: number, width: number): string {
  const filled = total > 0 ? Math.min(width, Math.floor((done / total) * width)) : width;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

function percent(done: number, total: number): string {
  return `${total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 100}%`.padStart(4);
}

/** 1234567 → `1,234,567`. */
export function thousands(value: number): string {
  return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A duration as `1h 02m`, `3m 05s` or `42s`. */
export function duration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}
