/**
 * CPU seconds (user + system, from /proc) of this process and everything it started, grouped
 * by the subtree a process belongs to. On a machine shared with other work, wall time swings
 * with the load; CPU time is what each side itself spent.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** CPU seconds per group at one moment. */
export type CpuSnapshot = Record<string, number>;

function processes(): Map<number, { ppid: number; seconds: number }> {
  const table = new Map<number, { ppid: number; seconds: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the command (which may hold spaces) start at its closing parenthesis.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime, stime, and cutime, cstime: the children it has reaped (a dlt normalize worker that has ended).
      const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
      table.set(Number(name), { ppid: Number(fields[1]), seconds: ticks / ticksPerSecond });
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

/**
 * CPU seconds of this process and its descendants: a process under one of `roots` counts for
 * that root's group, any other one for `rest` (this process included).
 */
export function cpuSnapshot(roots: Record<string, number | undefined>, rest = 'rest'): CpuSnapshot {
  const table = processes();
  const groupOf = (pid: number): string | undefined => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = table.get(p)?.ppid ?? 0, hops++) {
      const root = Object.entries(roots).find(([, r]) => r === p);
      if (root) return root[0];
      if (p === process.pid) return rest;
    }
    return undefined;
  };
  const snapshot: CpuSnapshot = {};
  for (const [pid, { seconds }] of table) {
    const group = groupOf(pid);
    if (group) snapshot[group] = (snapshot[group] ?? 0) + seconds;
  }
  return snapshot;
}

/** What each group spent between two snapshots. */
export function cpuDelta(before: CpuSnapshot, after: CpuSnapshot): CpuSnapshot {
  return Object.fromEntries(Object.entries(after).map(([group, seconds]) => [group, seconds - (before[group] ?? 0)]));
}

/** The pid of a descendant of this process whose command line matches, e.g. the Temporal server or workerd. */
export function childPid(pattern: RegExp): number | undefined {
  const table = processes();
  const descends = (pid: number) => {
    for (let p = table.get(pid)?.ppid ?? 0, hops = 0; p > 1 && hops < 64; p = table.get(p)?.ppid ?? 0, hops++) if (p === process.pid) return true;
    return false;
  };
  for (const pid of table.keys()) {
    if (!descends(pid)) continue;
    try {
      if (pattern.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '))) return pid;
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}
