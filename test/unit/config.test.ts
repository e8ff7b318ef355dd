import { describe, it, expect } from 'vitest';
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
