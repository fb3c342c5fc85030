import { createReadStream } from 'node:fs';
import { APIError } from 'openai';
import type { EmbeddingProvider, Transcript, TranscriptionProvider } from '../domain/media.ts';
import { PlatformError } from '../platforms/errors.ts';
import type { Config } from './config.ts';
import { createOpenAIClient, type OpenAIClient, retryAfterMs as retryAfterHeaders } from './openai.ts';

// The media library's AI providers (embeddings, speech to text) behind the ports of domain/media.ts,
// so a local model can replace OpenAI later. OpenAI SDK errors propagate unchanged; the ingest
// activities ask isInputRejection whether the user's file is the problem (everything else is the
// operator's or the provider's, and retried), and retryAfterMs how long the provider asked to wait.

/** OpenAI's per-request limits of the embeddings endpoint. */
export const MAX_EMBEDDING_INPUTS = 2048;
export const MAX_EMBEDDING_REQUEST_TOKENS = 300_000;

/** A deliberate over-estimate (English runs about 4 characters a token), so a batch never exceeds the limit. */
const estimateTokens = (text: string) => Math.ceil(text.length / 3);

/** Texts split into consecutive batches within the input-count and summed-token limits. */
export function embeddingBatches(
  texts: string[],
  maxInputs = MAX_EMBEDDING_INPUTS,
  maxTokens = MAX_EMBEDDING_REQUEST_TOKENS,
): string[][] {
  const batches: string[][] = [];
  let batch: string[] = [];
  let tokens = 0;
  for (const text of texts) {
    const t = estimateTokens(text);
    if (batch.length > 0 && (batch.length === maxInputs || tokens + t > maxTokens)) {
      batches.push(batch);
      batch = [];
      tokens = 0;
    }
    batch.push(text);
    tokens += t;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** The vector scaled to unit length in place (the API's are already, near enough; cosine = dot relies on it). */
export function normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += (v[i] as number) * (v[i] as number);
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) / norm;
  return v;
}

export function createOpenAIEmbeddingProvider(
  client: OpenAIClient,
  model: string,
  dimensions: number,
): EmbeddingProvider {
  return {
    model: `${model}/${dimensions}`,
    dimensions,
    async embed(texts, signal) {
      const vectors: Float32Array[] = [];
      for (const input of embeddingBatches(texts)) {
        // The SDK asks for base64 and decodes it to numbers.
        const res = await client.embeddings.create({ model, input, dimensions }, { signal });
        const data = [...res.data].sort((a, b) => a.index - b.index);
        if (data.length !== input.length) {
          throw new PlatformError(
            'openai',
            'permanent',
            `OpenAI embeddings: ${data.length} vectors for ${input.length} inputs`,
          );
        }
        for (const d of data) {
          if (d.embedding.length !== dimensions) {
            throw new PlatformError(
              'openai',
              'permanent',
              `OpenAI embeddings: ${d.embedding.length} dimensions, expected ${dimensions}`,
            );
          }
          vectors.push(normalize(Float32Array.from(d.embedding)));
        }
      }
      return vectors;
    },
  };
}

/** Only whisper-1 returns segment times (verbose_json); other models are refused by OpenAI with a 400. */
export function createOpenAITranscriptionProvider(client: OpenAIClient, model: string): TranscriptionProvider {
  return {
    engine: `openai/${model}`,
    async transcribe(audioPath, signal): Promise<Transcript> {
      const res = await client.audio.transcriptions.create(
        {
          file: createReadStream(audioPath),
          model,
          response_format: 'verbose_json',
          timestamp_granularities: ['segment'],
        },
        { signal },
      );
      const segments = (res.segments ?? [])
        .map((s) => ({ text: s.text.trim(), startMs: Math.round(s.start * 1000), endMs: Math.round(s.end * 1000) }))
        .filter((s) => s.text.length > 0);
      const text = res.text.trim();
      // Text without segments still needs a place in time: the whole file.
      if (segments.length === 0 && text) segments.push({ text, startMs: 0, endMs: Math.round(res.duration * 1000) });
      return { text, language: res.language || null, segments };
    },
  };
}

/** The configured embedding provider, or undefined when it is off or no OpenAI key is set. */
export function createEmbeddingProvider(
  config: Pick<Config, 'openai' | 'media'>,
  client: OpenAIClient | undefined = createOpenAIClient(config),
): EmbeddingProvider | undefined {
  const { provider, model, dimensions } = config.media.embeddings;
  if (provider === 'none' || !client) return undefined;
  return createOpenAIEmbeddingProvider(client, model, dimensions);
}

/** The configured transcription provider, or undefined when it is off or no OpenAI key is set. */
export function createTranscriptionProvider(
  config: Pick<Config, 'openai' | 'media'>,
  client: OpenAIClient | undefined = createOpenAIClient(config),
): TranscriptionProvider | undefined {
  const { provider, model } = config.media.transcription;
  if (provider === 'none' || !client) return undefined;
  return createOpenAITranscriptionProvider(client, model);
}

/** The answers with which a provider refuses the request's content: malformed, too large, unsupported type, unprocessable. */
const INPUT_REJECTIONS = new Set([400, 413, 415, 422]);

/**
 * Request parameters our configuration sets (not the user's content): a 400 that names one of them
 * (`response_format` a model does not support, `dimensions` out of range…) is the operator's problem.
 */
const CONFIG_PARAMS = new Set([
  'model',
  'dimensions',
  'encoding_format',
  'response_format',
  'timestamp_granularities',
  'language',
  'temperature',
]);

/**
 * Whether the provider refused the input itself (HTTP 400, 413, 415 or 422): the user's file or text
 * is the problem, and sending it again cannot help. Never for authentication (401/403), an unknown
 * model (404), quota or rate limits (429), server errors, timeouts, dropped connections, aborts, or
 * a 400 that names a parameter our configuration sets. Accepts the SDK's APIError or its mapped
 * PlatformError (lib/openai.ts), whose status it keeps but not the parameter: ask before mapping.
 */
export function isInputRejection(err: unknown): boolean {
  if (err instanceof APIError) {
    if (err.status === undefined || !INPUT_REJECTIONS.has(err.status)) return false;
    if (err.headers?.get('x-should-retry') === 'true') return false;
    const param = err.param?.split(/[.[]/)[0];
    return !(param && CONFIG_PARAMS.has(param));
  }
  return (
    err instanceof PlatformError &&
    err.platform === 'openai' &&
    err.kind === 'permanent' &&
    err.status !== undefined &&
    INPUT_REJECTIONS.has(err.status)
  );
}

/**
 * How long the provider asked to wait before the next call (its `retry-after-ms` or `retry-after`
 * header, or a mapped PlatformError's retryAfterMs), for Temporal's nextRetryDelay; undefined when it
 * did not say.
 */
export function retryAfterMs(err: unknown): number | undefined {
  if (err instanceof APIError) return retryAfterHeaders(err.headers);
  if (err instanceof PlatformError) return err.retryAfterMs;
  return undefined;
}
