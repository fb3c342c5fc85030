import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI, { APIError, AuthenticationError, BadRequestError, RateLimitError, toFile } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.ts';
import { callOpenAI, createOpenAIClient, fromOpenAIError, retryAfterMs } from '../../lib/openai.ts';
import {
  createSentimentClassifier,
  MAX_SENTIMENT_CHARS,
  SENTIMENT_SYSTEM_PROMPT,
  truncateText,
} from '../../lib/sentiment.ts';
import { PlatformError } from '../../platforms/errors.ts';
import type { PlatformSim } from '../../simulators/core.ts';
import { DEFAULT_TRANSCRIPT, recordedRequests } from '../../simulators/platforms/openai.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { admin } from './contract.ts';

// The OpenAI simulator, driven by the real openai SDK the way lib/openai.ts configures it
// (baseURL <sim>/openai/v1, maxRetries 0), and the error mapping onto PlatformError.

let sim: Simulator;
let openai: PlatformSim;
let tmp: string;
beforeAll(async () => {
  sim = await startSimulator();
  openai = sim.platforms.get('openai') as PlatformSim;
  tmp = mkdtempSync(path.join(os.tmpdir(), 'switchboard-openai-'));
});
afterAll(async () => {
  await sim.close();
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => sim.reset());

/** The environment tests use (test/helpers.ts openAITestEnv): the simulator and a dummy key. */
const env = (extra: Record<string, string> = {}) => ({
  OPENAI_API_KEY: 'sk-sim-test',
  OPENAI_BASE_URL: `${sim.url}/openai/v1`,
  ...extra,
});
const client = (extra: Record<string, string> = {}) => createOpenAIClient(loadConfig(env(extra))) as OpenAI;
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
const cosine = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * (b[i] as number), 0);
const norm = (a: number[]) => Math.sqrt(cosine(a, a));

describe('OpenAI client from config', () => {
  it('has no client without a key, and points at the configured base URL with no SDK retries', () => {
    expect(createOpenAIClient(loadConfig({}))).toBeUndefined();
    const c = client();
    expect(c.baseURL).toBe(`${sim.url}/openai/v1`);
    expect(c.maxRetries).toBe(0);
    expect(c.timeout).toBe(60_000);
    expect(client({ OPENAI_TIMEOUT_MS: '5000' }).timeout).toBe(5000);
  });

  it('refuses a base URL that is not http(s)', () => {
    expect(() => loadConfig(env({ OPENAI_BASE_URL: 'ftp://example.com' }))).toThrow(/OPENAI_BASE_URL/);
    expect(() => loadConfig(env({ SENTIMENT_PROVIDER: 'local' }))).toThrow(/SENTIMENT_PROVIDER/);
  });
});

describe('chat completions and the sentiment classifier', () => {
  it('answers a valid chat.completion whose content fills the requested JSON schema', async () => {
    const res = await client().chat.completions.create({
      model: 'gpt-4o-mini',
      temperature: 0,
      messages: [{ role: 'user', content: 'I love it, brilliant work' }],
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'verdict',
          strict: true,
          schema: {
            type: 'object',
            properties: {
              sentiment: { type: 'string', enum: ['negative', 'neutral', 'positive'] },
              confidence: { type: 'number' },
              flagged: { type: 'boolean' },
            },
            required: ['sentiment', 'confidence', 'flagged'],
            additionalProperties: false,
          },
        },
      },
    });
    expect(res.object).toBe('chat.completion');
    expect(res.id).toMatch(/^chatcmpl-/);
    expect(res.model).toBe('gpt-4o-mini');
    expect(res.choices[0]?.finish_reason).toBe('stop');
    expect(res.usage?.total_tokens).toBe((res.usage?.prompt_tokens ?? 0) + (res.usage?.completion_tokens ?? 0));
    const content = JSON.parse(res.choices[0]?.message.content ?? '');
    expect(content).toEqual({ sentiment: 'positive', confidence: 0.99, flagged: false });
  });

  it.each([
    ['Thanks, the new release is great!', 'positive'],
    ['This is terrible, the app is broken again', 'negative'],
    ['The parcel arrived on Tuesday.', 'neutral'],
    ['Great idea but an awful launch', 'neutral'],
  ] as const)('classifies %j as %s', async (text, label) => {
    const classifier = createSentimentClassifier(loadConfig(env()));
    const result = await classifier!.classify(text);
    expect(result.label).toBe(label);
    expect(result.score).toBeGreaterThan(0);
    expect(result.score).toBeLessThanOrEqual(1);
  });

  it('sends only the fixed prompt and the (truncated) message text, at temperature 0, not stored', async () => {
    const classifier = createSentimentClassifier(loadConfig(env({ SENTIMENT_MODEL: 'gpt-4.1-nano' })))!;
    expect(classifier.model).toBe('gpt-4.1-nano');
    const long = `${'love '.repeat(600)}😀 tail`;
    await classifier.classify(long);
    const [req] = recordedRequests(openai, 'chat_completions');
    expect(Object.keys(req!.body).sort()).toEqual(['messages', 'model', 'response_format', 'store', 'temperature']);
    expect(req!.body).toMatchObject({ model: 'gpt-4.1-nano', temperature: 0, store: false });
    const messages = req!.body.messages as { role: string; content: string }[];
    expect(messages).toEqual([
      { role: 'system', content: SENTIMENT_SYSTEM_PROMPT },
      { role: 'user', content: truncateText(long).trim() },
    ]);
    expect(Array.from(messages[1]!.content).length).toBeLessThanOrEqual(MAX_SENTIMENT_CHARS);
    expect(req!.body.response_format).toMatchObject({ type: 'json_schema', json_schema: { strict: true } });
  });

  it('does not call OpenAI for an empty message', async () => {
    const classifier = createSentimentClassifier(loadConfig(env()))!;
    await expect(classifier.classify('   ')).resolves.toEqual({ label: 'neutral', score: 1 });
    expect(recordedRequests(openai, 'chat_completions')).toHaveLength(0);
  });

  it('is off with SENTIMENT_PROVIDER=none or without a key', () => {
    expect(createSentimentClassifier(loadConfig(env({ SENTIMENT_PROVIDER: 'none' })))).toBeUndefined();
    expect(createSentimentClassifier(loadConfig({ OPENAI_BASE_URL: `${sim.url}/openai/v1` }))).toBeUndefined();
    expect(createSentimentClassifier(loadConfig(env()))).toBeDefined();
  });

  it('truncates on a code-point boundary', () => {
    expect(truncateText('ab😀cd', 3)).toBe('ab😀');
    expect(truncateText('short')).toBe('short');
  });

  it('turns a throttled classification into rate_limited with the wait OpenAI gave', async () => {
    await admin(sim, 'POST', '/openai/faults', { route: 'chat_completions', kind: 'throttle', retryAfterS: 7 });
    const err = await failure(createSentimentClassifier(loadConfig(env()))!.classify('great'));
    expect(err).toBeInstanceOf(PlatformError);
    expect(err).toMatchObject({ platform: 'openai', kind: 'rate_limited', status: 429, retryAfterMs: 7000 });
    expect((err as PlatformError).code).toBe('rate_limit_exceeded');
  });
});

describe('embeddings', () => {
  it('decodes the SDK-default base64 answer into unit vectors where shared words are closer', async () => {
    const res = await client().embeddings.create({
      model: 'text-embedding-3-small',
      input: ['red running shoes for trail', 'trail running shoes in red', 'quarterly tax filing deadline'],
    });
    const [wire] = recordedRequests(openai, 'embeddings');
    expect(wire?.body.encoding_format).toBe('base64');
    expect(res.object).toBe('list');
    expect(res.data.map((d) => d.index)).toEqual([0, 1, 2]);
    const [a, b, c] = res.data.map((d) => d.embedding) as [number[], number[], number[]];
    expect(a).toHaveLength(1536);
    expect(norm(a)).toBeCloseTo(1, 5);
    // Bag of words: 4 of 5 words shared → cosine 4/5; no words shared → about 0.
    expect(cosine(a, b)).toBeCloseTo(0.8, 5);
    expect(Math.abs(cosine(a, c))).toBeLessThan(0.3);
    expect(res.usage.prompt_tokens).toBeGreaterThan(0);
    expect(res.usage.total_tokens).toBe(res.usage.prompt_tokens);
  });

  it('is deterministic, honours dimensions, and gives the same values as float output', async () => {
    const c = client();
    const small = await c.embeddings.create({ model: 'text-embedding-3-small', input: 'hello world', dimensions: 256 });
    expect(small.data[0]?.embedding).toHaveLength(256);
    const again = await c.embeddings.create({ model: 'text-embedding-3-small', input: 'hello world', dimensions: 256 });
    expect(again.data[0]?.embedding).toEqual(small.data[0]?.embedding);
    const asFloat = await c.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'hello world',
      dimensions: 256,
      encoding_format: 'float',
    });
    const f = asFloat.data[0]?.embedding as number[];
    const decoded = small.data[0]?.embedding as number[];
    expect(decoded.length).toBe(f.length);
    for (const [i, x] of decoded.entries()) expect(x).toBeCloseTo(f[i] as number, 6);
    const large = await c.embeddings.create({ model: 'text-embedding-3-large', input: 'hello' });
    expect(large.data[0]?.embedding).toHaveLength(3072);
  });

  it('answers invalid requests with OpenAI errors that map to permanent', async () => {
    const c = client();
    const dims = await failure(c.embeddings.create({ model: 'text-embedding-ada-002', input: 'x', dimensions: 64 }));
    expect(dims).toBeInstanceOf(BadRequestError);
    expect((dims as APIError).message).toMatch(/does not support specifying dimensions/);
    expect(fromOpenAIError(dims)).toMatchObject({ platform: 'openai', kind: 'permanent', status: 400 });

    const unknown = await failure(callOpenAI(() => c.embeddings.create({ model: 'text-embedding-9', input: 'x' })));
    expect(unknown).toMatchObject({ kind: 'permanent', status: 404, code: 'model_not_found' });
    const empty = await failure(callOpenAI(() => c.embeddings.create({ model: 'text-embedding-3-small', input: '' })));
    expect(empty).toMatchObject({ kind: 'permanent', status: 400 });
    const tooMany = await failure(
      callOpenAI(() => c.embeddings.create({ model: 'text-embedding-3-small', input: Array(2049).fill('a') })),
    );
    expect(tooMany).toMatchObject({ kind: 'permanent', status: 400 });
  });
});

describe('audio transcriptions', () => {
  const audio = Buffer.from('RIFF fake wav bytes for the simulator');
  const sha256 = createHash('sha256').update(audio).digest('hex');
  const text = 'Welcome to the launch. Our new shoes are here! Ask us anything.';

  it('returns the registered transcript as verbose_json with timed segments', async () => {
    const reg = await fetch(`${sim.url}/openai/v1/_sim/transcripts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sha256, text, durationS: 6, language: 'en' }),
    });
    expect(reg.status).toBe(200);
    const res = await client().audio.transcriptions.create({
      file: await toFile(audio, 'clip.wav'),
      model: 'whisper-1',
      response_format: 'verbose_json',
      timestamp_granularities: ['segment', 'word'],
    });
    expect(res).toMatchObject({ task: 'transcribe', language: 'english', duration: 6, text });
    const segments = res.segments ?? [];
    expect(segments.map((s) => s.text.trim())).toEqual([
      'Welcome to the launch.',
      'Our new shoes are here!',
      'Ask us anything.',
    ]);
    expect(segments.map((s) => s.id)).toEqual([0, 1, 2]);
    expect(segments[0]?.start).toBe(0);
    expect(segments.at(-1)?.end).toBe(6);
    for (let i = 1; i < segments.length; i++) expect(segments[i]!.start).toBe(segments[i - 1]!.end);
    expect(res.words?.[0]).toMatchObject({ word: 'Welcome', start: 0 });
    // What was sent is logged without the audio itself.
    const [req] = recordedRequests(openai, 'transcriptions');
    expect(req?.body).toMatchObject({
      model: 'whisper-1',
      filename: 'clip.wav',
      sha256,
      response_format: 'verbose_json',
      timestamp_granularities: ['segment', 'word'],
    });
  });

  it('streams a file from disk, and falls back to a fixed sentence for unknown audio', async () => {
    const file = path.join(tmp, 'unknown.mp3');
    writeFileSync(file, Buffer.from('some other audio'));
    const res = await client().audio.transcriptions.create({ file: createReadStream(file), model: 'whisper-1' });
    expect(res.text).toBe(DEFAULT_TRANSCRIPT);
    const plain = await client().audio.transcriptions.create({
      file: await toFile(audio, 'clip.m4a'),
      model: 'gpt-4o-mini-transcribe',
      response_format: 'text',
    });
    expect(String(plain).trim()).toBe(DEFAULT_TRANSCRIPT);
  });

  it('refuses what OpenAI refuses: timestamps from gpt-4o models, unsupported file types', async () => {
    const c = client();
    const wav = await toFile(audio, 'clip.wav');
    const verbose = await failure(
      callOpenAI(() =>
        c.audio.transcriptions.create({
          file: wav,
          model: 'gpt-4o-transcribe',
          response_format: 'verbose_json',
        }),
      ),
    );
    expect(verbose).toMatchObject({ kind: 'permanent', status: 400, code: 'unsupported_value' });
    const txt = await failure(
      c.audio.transcriptions.create({ file: await toFile(audio, 'notes.txt'), model: 'whisper-1' }),
    );
    expect(txt).toBeInstanceOf(BadRequestError);
    expect((txt as APIError).message).toMatch(/Invalid file format/);
  });
});

describe('auth, faults and the error taxonomy', () => {
  it('answers a missing key with OpenAI’s 401 envelope and a wrong key as permanent', async () => {
    const raw = await fetch(`${sim.url}/openai/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'text-embedding-3-small', input: 'x' }),
    });
    expect(raw.status).toBe(401);
    const body = (await raw.json()) as { error: Record<string, unknown> };
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(body.error.message).toMatch(/didn't provide an API key/);

    const key = 'sk-invalid-0123456789abcdef';
    const bad = new OpenAI({ apiKey: key, baseURL: `${sim.url}/openai/v1`, maxRetries: 0 });
    const err = await failure(bad.embeddings.create({ model: 'text-embedding-3-small', input: 'x' }));
    expect(err).toBeInstanceOf(AuthenticationError);
    const mapped = fromOpenAIError(err) as PlatformError;
    expect(mapped).toMatchObject({ platform: 'openai', kind: 'permanent', status: 401, code: 'invalid_api_key' });
    expect(mapped.message).not.toContain(key);
  });

  it('throttles with retry-after (RateLimitError → rate_limited) and logs the call', async () => {
    await admin(sim, 'POST', '/openai/faults', { route: 'embeddings', kind: 'throttle', retryAfterS: 12 });
    const err = await failure(client().embeddings.create({ model: 'text-embedding-3-small', input: 'x' }));
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).headers.get('retry-after')).toBe('12');
    expect(fromOpenAIError(err)).toMatchObject({ kind: 'rate_limited', retryAfterMs: 12_000 });
    const calls = await admin<{ route: string; status: number; fault?: string }[]>(
      sim,
      'GET',
      '/openai/calls?route=embeddings',
    );
    expect(calls).toEqual([expect.objectContaining({ route: 'embeddings', status: 429, fault: 'throttle' })]);
  });

  it('maps server errors and dropped connections to transient, an exhausted quota to permanent', async () => {
    const c = client();
    const embed = () => callOpenAI(() => c.embeddings.create({ model: 'text-embedding-3-small', input: 'x' }));
    await admin(sim, 'POST', '/openai/faults', { route: 'embeddings', kind: 'http', status: 503 });
    expect(await failure(embed())).toMatchObject({ kind: 'transient', status: 503 });
    await admin(sim, 'POST', '/openai/faults', { route: 'embeddings', kind: 'drop' });
    expect(await failure(embed())).toMatchObject({ kind: 'transient', status: undefined });
    await admin(sim, 'PATCH', '/openai/knobs', { insufficientQuota: 1 });
    expect(await failure(embed())).toMatchObject({ kind: 'permanent', status: 429, code: 'insufficient_quota' });
    await admin(sim, 'PATCH', '/openai/knobs', { insufficientQuota: 0 });
    await expect(embed()).resolves.toMatchObject({ object: 'list' });
  });

  it('times out after OPENAI_TIMEOUT_MS as a transient failure', async () => {
    await admin(sim, 'POST', '/openai/faults', { route: 'embeddings', kind: 'delay', delayMs: 3000 });
    const c = client({ OPENAI_TIMEOUT_MS: '1000' });
    const started = Date.now();
    const err = await failure(callOpenAI(() => c.embeddings.create({ model: 'text-embedding-3-small', input: 'x' })));
    expect(err).toMatchObject({ platform: 'openai', kind: 'transient' });
    // Gave up before the sim's 3000 ms answer could arrive; the margin above 1 s is for loaded machines.
    expect(Date.now() - started).toBeLessThan(2900);
  });

  it('reads retry-after-ms, retry-after seconds and dates, and obeys x-should-retry', () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250.4' }), now)).toBe(251);
    expect(retryAfterMs(new Headers({ 'retry-after': '3' }), now)).toBe(3000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Sun, 01 Mar 2026 12:00:05 GMT' }), now)).toBe(5000);
    expect(retryAfterMs(new Headers({}), now)).toBeUndefined();
    const generate = (status: number, headers: Record<string, string>, code: string | null = null) =>
      fromOpenAIError(
        APIError.generate(status, { error: { message: 'm', type: 't', param: null, code } }, 'm', new Headers(headers)),
      );
    expect(generate(400, { 'x-should-retry': 'true' })).toMatchObject({ kind: 'transient' });
    expect(generate(500, { 'x-should-retry': 'false' })).toMatchObject({ kind: 'permanent' });
    expect(generate(409, {})).toMatchObject({ kind: 'transient' });
    expect(generate(403, {})).toMatchObject({ kind: 'permanent' });
    expect(generate(429, {})).toMatchObject({ kind: 'rate_limited', retryAfterMs: undefined });
    const own = new Error('a bug of ours');
    expect(fromOpenAIError(own)).toBe(own);
  });
});
