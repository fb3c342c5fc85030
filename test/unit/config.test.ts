import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, workflowBundlePath } from '../../lib/config.ts';

describe('loadConfig', () => {
  it('has working defaults', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.taskQueues.core).toBe('switchboard-core');
    expect(config.auth.bcryptCost).toBeGreaterThanOrEqual(10);
  });

  it('names the variable that is wrong', () => {
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(ConfigError);
    expect(() => loadConfig({ BCRYPT_COST: '4' })).toThrow(/BCRYPT_COST/);
    expect(() => loadConfig({ TRUST_PROXY: 'maybe' })).toThrow(/TRUST_PROXY/);
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY/);
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1']);
    expect(loadConfig({}).temporal.uiPort).toBe(8233);
  });

  it('reads OpenAI, sentiment and storage settings', () => {
    const config = loadConfig({});
    expect(config.openai).toEqual({ apiKey: undefined, baseUrl: 'https://api.openai.com/v1', timeoutMs: 60_000 });
    expect(config.sentiment).toEqual({ provider: 'openai', model: 'gpt-4o-mini' });
    expect(config.storage).toEqual({ driver: 'local', dir: path.join(config.dataDir, 'storage') });
    const set = loadConfig({
      OPENAI_API_KEY: 'sk-x',
      OPENAI_BASE_URL: 'http://127.0.0.1:4010/openai/v1/',
      SENTIMENT_PROVIDER: 'none',
    });
    expect(set.openai).toMatchObject({ apiKey: 'sk-x', baseUrl: 'http://127.0.0.1:4010/openai/v1' });
    expect(set.sentiment.provider).toBe('none');
    expect(() => loadConfig({ OPENAI_BASE_URL: 'not a url' })).toThrow(/OPENAI_BASE_URL/);
    expect(() => loadConfig({ OPENAI_TIMEOUT_MS: '10' })).toThrow(/OPENAI_TIMEOUT_MS/);
    expect(() => loadConfig({ SENTIMENT_PROVIDER: 'maybe' })).toThrow(/SENTIMENT_PROVIDER/);
    expect(() => loadConfig({ STORAGE_DRIVER: 'nfs' })).toThrow(/STORAGE_DRIVER must be local or s3/);
    expect(() => loadConfig({ STORAGE_DRIVER: 's3' })).toThrow('S3_ENDPOINT is required when STORAGE_DRIVER is s3');
    const s3 = {
      STORAGE_DRIVER: 's3',
      S3_ENDPOINT: 'http://127.0.0.1:9000/',
      S3_BUCKET: 'media',
      S3_ACCESS_KEY_ID: 'id',
      S3_SECRET_ACCESS_KEY: 'secret',
    };
    expect(() => loadConfig({ ...s3, S3_BUCKET: '' })).toThrow('S3_BUCKET is required when STORAGE_DRIVER is s3');
    expect(loadConfig(s3).storage.s3).toEqual({
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      bucket: 'media',
      accessKeyId: 'id',
      secretAccessKey: 'secret',
      pathStyle: true,
    });
    expect(loadConfig({}).storage.s3).toBeUndefined();
  });

  it('refuses the development webhook verify token in production, and needs no secrets for the bundle path', () => {
    const keys = `k1:${Buffer.alloc(32, 1).toString('base64')}`;
    expect(() => loadConfig({ NODE_ENV: 'production', TOKEN_KEYS: keys, TOKEN_KEY_ID: 'k1' })).toThrow(
      /WEBHOOK_VERIFY_TOKEN/,
    );
    const prod = loadConfig({
      NODE_ENV: 'production',
      TOKEN_KEYS: keys,
      TOKEN_KEY_ID: 'k1',
      WEBHOOK_VERIFY_TOKEN: 'mine',
    });
    expect(prod.webhookVerifyToken).toBe('mine');
    expect(workflowBundlePath({ NODE_ENV: 'production' })).toBe(loadConfig({}).workflowBundlePath);
  });
});
