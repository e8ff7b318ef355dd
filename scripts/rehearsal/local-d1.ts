// The rehearsal's stand-in for Cloudflare D1: the local D1 service (d1/local-service) on
// 127.0.0.1:PORT, its data under DIR, until SIGTERM. There is no Cloudflare account on
// this machine; the worker reaches this service over the same REST API it uses there.
//
//   D1_API_TOKEN=… node scripts/rehearsal/local-d1.ts PORT DIR
import { startLocalD1Service } from '../../d1/local-service/server.ts';

const [port, dataDir] = [Number(process.argv[2]), process.argv[3]];
const apiToken = process.env.D1_API_TOKEN;
if (!port || !dataDir || !apiToken) throw new Error('usage: D1_API_TOKEN=… local-d1.ts PORT DIR');
// conformance: every request and answer is checked against Cloudflare's published D1 schema.
const service = await startLocalD1Service({ dataDir, apiToken, port, conformance: 'collect' });
console.log(`local D1 service on ${service.url} (account ${service.accountId}, database ${service.databaseId})`);
process.once('SIGTERM', () => {
  service.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`local D1 service: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
});
