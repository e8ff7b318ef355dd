// Prints N distinct TCP ports of 127.0.0.1, free when chosen, all below 32768: Temporal stores
// its membership ports in a PostgreSQL smallint (cluster_membership.rpc_port), so a port the
// kernel hands out (32768 and up on Linux) stops the server at start. Below that range no
// other program gets a port by chance either.
//
//   node scripts/rehearsal/free-ports.ts N
import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';

/** True when the port could be bound on 127.0.0.1 just now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

const count = Number(process.argv[2] ?? 1);
const ports = new Set<number>();
for (let tries = 0; ports.size < count; tries++) {
  if (tries > 1000) throw new Error(`found only ${ports.size} free ports between 10000 and 32767`);
  const port = randomInt(10_000, 32_768);
  if (!ports.has(port) && (await bindable(port))) ports.add(port);
}
console.log([...ports].join(' '));
