// Prints N TCP ports of 127.0.0.1 that are free (all held at once while choosing, so they differ).
//
//   node scripts/rehearsal/free-ports.ts N
import { createServer, type Server } from 'node:net';

const count = Number(process.argv[2] ?? 1);
const servers: Server[] = [];
for (let i = 0; i < count; i++) {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  servers.push(server);
}
const ports = servers.map((s) => (s.address() as { port: number }).port);
await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
console.log(ports.join(' '));
