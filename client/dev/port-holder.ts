import { readFile, readdir, readlink } from 'node:fs/promises';
import { connect } from 'node:net';

/** A process that listens on a TCP port of this machine, as far as /proc tells. */
export interface PortHolder {
  port: number;
  /** Unknown when the socket belongs to a process this user may not inspect. */
  pid?: number;
  command?: string;
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(true); // accepted by the kernel but silent: still held
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Who listens on `port`: the socket's inode from /proc/net/tcp{,6}, then the process that
 * holds a descriptor to it. Linux only; elsewhere (or without permission) the pid stays unknown.
 */
export async function portHolder(port: number): Promise<PortHolder> {
  const inodes = await listeningInodes(port);
  if (inodes.size === 0) return { port };
  const pids = await readdir('/proc').catch(() => [] as string[]);
  for (const pid of pids.filter((name) => /^\d+$/.test(name))) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) {
        const command = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean).join(' ');
        return { port, pid: Number(pid), ...(command ? { command } : {}) };
      }
    }
  }
  return { port };
}

/** Inodes of the sockets in state LISTEN (0A) on `port`, IPv4 and IPv6. */
async function listeningInodes(port: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      if (fields.length > 9 && fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '0A') inodes.add(fields[9]!);
    }
  }
  return inodes;
}

/** "port 7233 is held by pid 123 (temporal server start-dev …)", for an operator. */
export function describeHolder(holder: PortHolder, what: string): string {
  const who = holder.pid === undefined ? 'another process (not visible to this user)' : `pid ${holder.pid}${holder.command ? ` (${holder.command.slice(0, 160)})` : ''}`;
  return `the ${what} port ${holder.port} is already in use by ${who}`;
}
