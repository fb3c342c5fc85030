import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { APIError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createEmbeddingProvider,
  createTranscriptionProvider,
  embeddingBatches,
  isInputRejection,
  retryAfterMs,
} from '../../lib/ai.ts';
import { loadConfig } from '../../lib/config.ts';
import { fromOpenAIError } from '../../lib/openai.ts';
import type { PlatformSim } from '../../simulators/core.ts';
import { recordedRequests } from '../../simulators/platforms/openai.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { openAITestEnv } from '../helpers.ts';
import { admin } from '../platforms/contract.ts';

// The media AI providers driven through the real openai SDK against the OpenAI simulator.

let sim: Simulator;
let openai: PlatformSim;
let tmp: string;
beforeAll(async () => {
  sim = await startSimulator();
  openai = sim.platforms.get('openai') as PlatformSim;
  tmp = mkdtempSync(path.join(os.tmpdir(), 'switchboard-ai-'));
});
afterAll(async () => {
  await sim.close();
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => sim.reset());

const config = (extra: Record<string, string> = {}) => loadConfig({ ...openAITestEnv(sim.url), ...extra });
const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );

describe('embeddings', () => {
  it('returns unit vectors of the configured length, named model/dimensions', async () => {
    const provider = createEmbeddingProvider(config({ EMBEDDING_DIMENSIONS: '256' }))!;
    expect(provider.model).toBe('text-embedding-3-small/256');
    expect(provider.dimensions).toBe(256);
    const [a, b, c] = await provider.embed(['quarterly revenue report', 'the revenue report', 'trail shoes']);
    for (const v of [a, b, c]) {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v).toHaveLength(256);
      expect(norm(v!)).toBeCloseTo(1, 5);
    }
    const dot = (x: Float32Array, y: Float32Array) => x.reduce((s, v, i) => s + v * (y[i] as number), 0);
    expect(dot(a!, b!)).toBeGreaterThan(dot(a!, c!));
    const [req] = recordedRequests(openai, 'embeddings');
    expect(req?.body).toMatchObject({ model: 'text-embedding-3-small', dimensions: 256, encoding_format: 'base64' });
  });

  it('splits a large batch to stay within 2048 inputs per request, keeping the order', async () => {
    const provider = createEmbeddingProvider(config())!;
    const texts = Array.from({ length: 2100 }, (_, i) => `text number ${i}`);
    const vectors = await provider.embed(texts);
    expect(vectors).toHaveLength(2100);
    const sizes = recordedRequests(openai, 'embeddings').map((r) => (r.body.input as string[]).length);
    expect(sizes).toEqual([2048, 52]);
    const [last] = await provider.embed([texts[2099]!]);
    expect(Array.from(vectors[2099]!)).toEqual(Array.from(last!));
  });

  it('batches by estimated tokens (characters / 3) as well as by count', () => {
    expect(embeddingBatches(['a'.repeat(9), 'b'.repeat(9), 'c'.repeat(3)], 10, 5)).toEqual([
      ['a'.repeat(9)],
      ['b'.repeat(9), 'c'.repeat(3)],
    ]);
    expect(embeddingBatches(['x', 'y', 'z'], 2)).toEqual([['x', 'y'], ['z']]);
    // A single text over the budget still goes (alone): OpenAI's per-input limit is the chunker's job.
    expect(embeddingBatches(['a'.repeat(30)], 10, 5)).toEqual([['a'.repeat(30)]]);
    expect(embeddingBatches([])).toEqual([]);
  });

  it('is off with EMBEDDING_PROVIDER=none or without a key', () => {
    expect(createEmbeddingProvider(config({ EMBEDDING_PROVIDER: 'none' }))).toBeUndefined();
    expect(createEmbeddingProvider(loadConfig(openAITestEnv(undefined)))).toBeUndefined();
  });
});

describe('transcription', () => {
  it('returns the registered transcript with segment times in milliseconds', async () => {
    const audio = Buffer.from('fake mp3 bytes for the transcription test');
    const file = path.join(tmp, 'clip.mp3');
    writeFileSync(file, audio);
    const text = 'Welcome to the launch. Our new shoes are here! Ask us anything.';
    const reg = await fetch(`${sim.url}/openai/v1/_sim/transcripts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sha256: createHash('sha256').update(audio).digest('hex'), text, durationS: 6 }),
    });
    expect(reg.status).toBe(200);

    const provider = createTranscriptionProvider(config())!;
    expect(provider.engine).toBe('openai/whisper-1');
    const transcript = await provider.transcribe(file);
    // The simulator times sentences by word count: 4, 5 and 3 words over 6 s.
    expect(transcript).toEqual({
      text,
      language: 'english',
      segments: [
        { text: 'Welcome to the launch.', startMs: 0, endMs: 2000 },
        { text: 'Our new shoes are here!', startMs: 2000, endMs: 4500 },
        { text: 'Ask us anything.', startMs: 4500, endMs: 6000 },
      ],
    });
    const [req] = recordedRequests(openai, 'transcriptions');
    expect(req?.body).toMatchObject({
      model: 'whisper-1',
      filename: 'clip.mp3',
      response_format: 'verbose_json',
      timestamp_granularities: ['segment'],
    });
  });

  it('is off with TRANSCRIPTION_PROVIDER=none or without a key', () => {
    expect(createTranscriptionProvider(config({ TRANSCRIPTION_PROVIDER: 'none' }))).toBeUndefined();
    expect(createTranscriptionProvider(loadConfig(openAITestEnv(undefined)))).toBeUndefined();
  });
});

describe('isInputRejection', () => {
  const embed = (extra: Record<string, string> = {}, texts = ['x']) =>
    failure(createEmbeddingProvider(config(extra))!.embed(texts));
  const fault = (body: Record<string, unknown>) =>
    admin(sim, 'POST', '/openai/faults', { route: 'embeddings', ...body });

  it('is true when the provider refuses the input itself: 400, 413, 415, 422', async () => {
    // A text over the model's context length.
    const tooLong = await embed({}, ['word '.repeat(10_000)]);
    expect(tooLong).toMatchObject({ status: 400 });
    expect(isInputRejection(tooLong)).toBe(true);
    // A file type speech to text does not take.
    const transcribe = createTranscriptionProvider(config())!;
    const file = path.join(tmp, 'notes.txt');
    writeFileSync(file, 'not audio');
    const badFormat = await failure(transcribe.transcribe(file));
    expect(badFormat).toMatchObject({ status: 400 });
    expect(isInputRejection(badFormat)).toBe(true);
    for (const status of [413, 415, 422]) {
      await fault({ kind: 'http', status });
      const refused = await embed();
      expect(refused).toMatchObject({ status });
      expect(isInputRejection(refused)).toBe(true);
    }
    // Also once mapped to a PlatformError (it keeps the status).
    expect(isInputRejection(fromOpenAIError(tooLong))).toBe(true);
  });

  it('is false for auth, unknown models, quota, rate limits, server errors, no answer, and our configuration', async () => {
    const badKey = await embed({ OPENAI_API_KEY: 'sk-invalid-0123456789' });
    expect(badKey).toMatchObject({ status: 401 });
    expect(isInputRejection(badKey)).toBe(false);
    expect(isInputRejection(fromOpenAIError(badKey))).toBe(false);
    await fault({ kind: 'http', status: 403 });
    expect(isInputRejection(await embed())).toBe(false);
    const unknownModel = await embed({ EMBEDDING_MODEL: 'text-embedding-9' });
    expect(unknownModel).toMatchObject({ status: 404 });
    expect(isInputRejection(unknownModel)).toBe(false);

    await admin(sim, 'PATCH', '/openai/knobs', { insufficientQuota: 1 });
    const quota = await embed();
    expect(quota).toMatchObject({ status: 429, code: 'insufficient_quota' });
    expect(isInputRejection(quota)).toBe(false);
    await admin(sim, 'PATCH', '/openai/knobs', { insufficientQuota: 0 });

    await fault({ kind: 'throttle', retryAfterS: 3 });
    expect(isInputRejection(await embed())).toBe(false);
    for (const status of [500, 503]) {
      await fault({ kind: 'http', status });
      expect(isInputRejection(await embed())).toBe(false);
    }
    await fault({ kind: 'drop' });
    expect(isInputRejection(await embed())).toBe(false);
    expect(isInputRejection(await failure(createEmbeddingProvider(config())!.embed(['x'], AbortSignal.abort())))).toBe(
      false,
    );

    // A 400 about a parameter our configuration sets: the model does not take verbose_json.
    const transcribe = createTranscriptionProvider(config({ TRANSCRIPTION_MODEL: 'gpt-4o-transcribe' }))!;
    const file = path.join(tmp, 'clip.wav');
    writeFileSync(file, Buffer.from('wav'));
    const unsupported = await failure(transcribe.transcribe(file));
    expect(unsupported).toMatchObject({ status: 400, param: 'response_format' });
    expect(isInputRejection(unsupported)).toBe(false);

    expect(isInputRejection(new Error('a bug of ours'))).toBe(false);
    expect(isInputRejection(undefined)).toBe(false);
  });
});

describe('retryAfterMs', () => {
  it('reads the wait a rate limit asks for, raw or mapped', async () => {
    await admin(sim, 'POST', '/openai/faults', { route: 'embeddings', kind: 'throttle', retryAfterS: 3 });
    const throttled = await failure(createEmbeddingProvider(config())!.embed(['x']));
    expect(throttled).toMatchObject({ status: 429 });
    expect(retryAfterMs(throttled)).toBe(3000);
    expect(retryAfterMs(fromOpenAIError(throttled))).toBe(3000);
  });

  it('prefers retry-after-ms', () => {
    const err = APIError.generate(
      429,
      { error: { message: 'slow down', type: 'requests', code: 'rate_limit_exceeded' } },
      undefined,
      new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }),
    );
    expect(retryAfterMs(err)).toBe(250);
  });

  it('is undefined when the provider did not say, or for anything else', async () => {
    await admin(sim, 'POST', '/openai/faults', { route: 'embeddings', kind: 'http', status: 503 });
    expect(retryAfterMs(await failure(createEmbeddingProvider(config())!.embed(['x'])))).toBeUndefined();
    await admin(sim, 'POST', '/openai/faults', { route: 'embeddings', kind: 'drop' });
    expect(retryAfterMs(await failure(createEmbeddingProvider(config())!.embed(['x'])))).toBeUndefined();
    expect(retryAfterMs(new Error('a bug of ours'))).toBeUndefined();
  });
});
