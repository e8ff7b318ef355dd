import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it, expect } from 'vitest';
import { ConfigError, loadConfig, localDevToken } from '../../worker/config.ts';

describe('loadConfig', () => {
  it('defaults to the local development services', () => {
    const config = loadConfig({});
    expect(config.temporal.address).toBe('127.0.0.1:7233');
    expect(config.d1).toMatchObject({ baseUrl: 'http://127.0.0.1:8787/client/v4', apiToken: localDevToken, isLocal: true });
  });

  it('requires an API token for Cloudflare and names the variable', () => {
    expect(() => loadConfig({ D1_API_URL: 'https://api.cloudflare.com/client/v4' })).toThrow(ConfigError);
    expect(() => loadConfig({ D1_API_URL: 'https://api.cloudflare.com/client/v4' })).toThrow(/CLOUDFLARE_API_TOKEN/);
  });

  it('reads Cloudflare settings from the environment', () => {
    const config = loadConfig({ D1_API_URL: 'https://api.cloudflare.com/client/v4/', CLOUDFLARE_ACCOUNT_ID: 'acc', D1_DATABASE_ID: 'db', CLOUDFLARE_API_TOKEN: 'secret-token' });
    expect(config.d1).toMatchObject({ baseUrl: 'https://api.cloudflare.com/client/v4', accountId: 'acc', databaseId: 'db', isLocal: false });
  });

  it('rejects a malformed URL with the variable name and without echoing secrets', () => {
    let message = '';
    try {
      loadConfig({ D1_API_URL: 'not a url', CLOUDFLARE_API_TOKEN: 'secret-token' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/D1_API_URL/);
    expect(message).not.toContain('secret-token');
  });
});

describe('loadConfig: TLS to Temporal', () => {
  // PEM-shaped files: the configuration reads them; only the TLS handshake would parse them.
  const dir = mkdtempSync(join(tmpdir(), 'sodimo-tls-'));
  const pem = (name: string, label: string) => {
    const path = join(dir, name);
    writeFileSync(path, `-----BEGIN ${label}-----\n${Buffer.from(name).toString('base64')}\n-----END ${label}-----\n`);
    return path;
  };
  const cert = pem('client.crt', 'CERTIFICATE');
  const key = pem('client.key', 'PRIVATE KEY');
  const ca = pem('ca.crt', 'CERTIFICATE');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The ConfigError's message for an environment (fails the test when it loads). */
  function configErrorOf(env: Record<string, string>): string {
    try {
      loadConfig(env);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error('the configuration loaded');
  }

  it('is off when no TEMPORAL_TLS_* is set: plain TCP, as before', () => {
    expect(loadConfig({}).temporal.tls).toBeUndefined();
  });

  it('reads the certificate, key and CA files once, at start-up', () => {
    const { tls } = loadConfig({ TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: key, TEMPORAL_TLS_CA: ca, TEMPORAL_TLS_SERVER_NAME: 'temporal' }).temporal;
    expect(Buffer.from(tls!.clientCertPair!.crt).toString()).toContain('-----BEGIN CERTIFICATE-----');
    expect(Buffer.from(tls!.clientCertPair!.key).toString()).toContain('-----BEGIN PRIVATE KEY-----');
    expect(Buffer.from(tls!.serverRootCACertificate!).toString()).toContain(Buffer.from('ca.crt').toString('base64'));
    expect(tls!.serverNameOverride).toBe('temporal');
  });

  it('verifies the server without a client certificate when only the CA is set', () => {
    expect(loadConfig({ TEMPORAL_TLS_CA: ca }).temporal.tls).toEqual({ serverRootCACertificate: expect.any(Buffer) });
  });

  it('refuses a certificate without its key, and a key without its certificate, naming the missing one', () => {
    const noKey = configErrorOf({ TEMPORAL_TLS_CERT: cert });
    expect(noKey).toMatch(/TEMPORAL_TLS_KEY/);
    expect(noKey).toMatch(/required with TEMPORAL_TLS_CERT: the client certificate and its private key go together/);
    expect(configErrorOf({ TEMPORAL_TLS_KEY: key })).toMatch(/required with TEMPORAL_TLS_KEY[^]*TEMPORAL_TLS_CERT/);
  });

  it('names the variable whose file cannot be read, or is not PEM', () => {
    const missing = join(dir, 'absent.crt');
    const unreadable = configErrorOf({ TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: key, TEMPORAL_TLS_CA: missing });
    expect(unreadable).toMatch(/TEMPORAL_TLS_CA/);
    expect(unreadable).toContain(`cannot read ${missing}`);
    const der = join(dir, 'client.der');
    writeFileSync(der, Buffer.from([0x30, 0x82, 0x01, 0x0a]));
    expect(configErrorOf({ TEMPORAL_TLS_CERT: der, TEMPORAL_TLS_KEY: key })).toMatch(/is not a PEM file[^]*TEMPORAL_TLS_CERT/);
  });
});

describe('loadConfig: SMTP credentials', () => {
  it('stages 10,000 rows a chunk unless STAGE_CHUNK_ROWS says otherwise, and refuses a chunk outside 100–50,000, naming the variable', () => {
    expect(loadConfig({}).load.stageChunkRows).toBe(10_000);
    expect(loadConfig({ STAGE_CHUNK_ROWS: '2000' }).load.stageChunkRows).toBe(2000);
    for (const value of ['0', '99', '50001', 'many', '1.5']) {
      expect(() => loadConfig({ STAGE_CHUNK_ROWS: value }), value).toThrow(ConfigError);
      expect(() => loadConfig({ STAGE_CHUNK_ROWS: value }), value).toThrow(/STAGE_CHUNK_ROWS/);
    }
  });

  it('refuses plaintext AUTH unless SMTP_ALLOW_PLAINTEXT_AUTH=true', () => {
    expect(loadConfig({}).mail.allowPlaintextAuth).toBe(false);
    expect(loadConfig({ SMTP_ALLOW_PLAINTEXT_AUTH: 'true' }).mail.allowPlaintextAuth).toBe(true);
    expect(() => loadConfig({ SMTP_ALLOW_PLAINTEXT_AUTH: 'maybe' })).toThrow(/SMTP_ALLOW_PLAINTEXT_AUTH/);
  });
});

describe('.env.example', () => {
  const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
  /** `# NAME=value` lines: what the file says the worker does when NAME is unset. */
  const commented = [...example.matchAll(/^# ([A-Z][A-Z0-9_]*)=(.*)$/gm)].map(([, name, value]) => ({ name: name!, value: value! }));
  // File paths and debugging switches the worker has no default for: the file shows an example.
  const examples = new Set(['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CA', 'TEMPORAL_TLS_SERVER_NAME', 'APPROVER_PUBLIC_KEYS', 'APPROVER_KEY', 'WAREHOUSE_DEBUG', 'TEMPORAL_CLI']);

  it('lists the defaults: each commented line, uncommented as shown, changes nothing', () => {
    const defaults = loadConfig({});
    const defaultsShown = commented.filter(({ name }) => !examples.has(name));
    expect(defaultsShown.map((c) => c.name)).toEqual(expect.arrayContaining(['D1_API_URL', 'SMTP_URL', 'EXPORT_DEADLINE', 'WAREHOUSE_TIMEZONE']));
    for (const { name, value } of defaultsShown) expect({ name, config: loadConfig({ [name]: value }) }).toEqual({ name, config: defaults });
  });

  it('an uncommented `SMTP_URL=` (or any variable set to nothing) counts as unset', () => {
    const config = loadConfig({ SMTP_URL: '', D1_API_URL: ' ', EXPORT_POLL_MS: '' });
    expect(config.mail.smtpUrl).toBeUndefined();
    expect(config.d1.baseUrl).toBe('http://127.0.0.1:8787/client/v4');
    expect(config.load.pollMs).toBe(loadConfig({}).load.pollMs);
  });
});

describe('loadConfig: the worker\'s shutdown grace time', () => {
  it('defaults to 30 s and reads a duration in ms, seconds, minutes or hours', () => {
    expect(loadConfig({}).worker.shutdownGraceMs).toBe(30_000);
    expect(loadConfig({ WORKER_SHUTDOWN_GRACE: '500ms' }).worker.shutdownGraceMs).toBe(500);
    expect(loadConfig({ WORKER_SHUTDOWN_GRACE: '45s' }).worker.shutdownGraceMs).toBe(45_000);
    expect(loadConfig({ WORKER_SHUTDOWN_GRACE: '2 minutes' }).worker.shutdownGraceMs).toBe(120_000);
    expect(loadConfig({ WORKER_SHUTDOWN_GRACE: '1h' }).worker.shutdownGraceMs).toBe(3_600_000);
    expect(loadConfig({ WORKER_SHUTDOWN_GRACE: '0s' }).worker.shutdownGraceMs).toBe(0);
  });

  it('refuses anything else, naming the variable and the expected form', () => {
    for (const value of ['30', 'soon', '-5s', '1.5s', '3 days']) {
      expect(() => loadConfig({ WORKER_SHUTDOWN_GRACE: value }), value).toThrow(ConfigError);
      expect(() => loadConfig({ WORKER_SHUTDOWN_GRACE: value }), value).toThrow(/must be a duration such as '30s'[\s\S]*at WORKER_SHUTDOWN_GRACE/);
    }
  });
});
