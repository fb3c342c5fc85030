import { createHash, randomBytes } from 'node:crypto';
import { type Clock, KEY_ONLY_POLICY, PlatformSim, type SimReply, type SimRequest } from '../core.ts';

// OpenAI (api.openai.com/v1): chat completions (the sentiment classifier), embeddings and audio
// transcriptions, with OpenAI's error envelope {error:{message,type,param,code}}. Any non-empty
// Bearer key is accepted; keys starting with "sk-invalid" get OpenAI's invalid_api_key answer.
// The simulator's "models" are deterministic so tests know the answers:
// - chat: a keyword classifier (POSITIVE_WORDS / NEGATIVE_WORDS) that fills whatever JSON schema
//   the request's response_format asks for;
// - embeddings: hashed bag of words, normalised, so texts sharing words are closer;
// - transcription: it cannot hear, so the transcript comes from a mapping keyed by the SHA-256 of the
//   uploaded bytes (POST /v1/_sim/transcripts), else DEFAULT_TRANSCRIPT.
// Knobs: insufficientQuota (1: every API call gets the 429 insufficient_quota answer), latencyMs.

export const POSITIVE_WORDS = [
  'love',
  'loved',
  'loving',
  'great',
  'brilliant',
  'thanks',
  'thank',
  'awesome',
  'amazing',
  'excellent',
  'fantastic',
  'wonderful',
  'perfect',
  'happy',
  'best',
  'helpful',
] as const;
export const NEGATIVE_WORDS = [
  'terrible',
  'awful',
  'hate',
  'hated',
  'broken',
  'worst',
  'bad',
  'horrible',
  'useless',
  'disappointed',
  'disappointing',
  'angry',
  'scam',
  'rude',
  'refund',
] as const;

export const DEFAULT_TRANSCRIPT = 'This is a simulated transcript. The simulator cannot hear the audio.';

const EMBEDDING_MODELS: Record<string, { dims: number; shortenable: boolean }> = {
  'text-embedding-3-small': { dims: 1536, shortenable: true },
  'text-embedding-3-large': { dims: 3072, shortenable: true },
  'text-embedding-ada-002': { dims: 1536, shortenable: false },
};
/** Models and the response formats each accepts (only whisper-1 gives timestamps). */
const TRANSCRIPTION_MODELS: Record<string, string[]> = {
  'whisper-1': ['json', 'text', 'srt', 'verbose_json', 'vtt'],
  'gpt-4o-transcribe': ['json', 'text'],
  'gpt-4o-mini-transcribe': ['json', 'text'],
  'gpt-4o-transcribe-diarize': ['json', 'text', 'diarized_json'],
};
const AUDIO_FORMATS = ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'oga', 'ogg', 'wav', 'webm'];
const LANGUAGES: Record<string, string> = {
  en: 'english',
  de: 'german',
  fr: 'french',
  es: 'spanish',
  it: 'italian',
  nl: 'dutch',
  pt: 'portuguese',
};
const MAX_UPLOAD_BYTES = 25 * 1024 * 1024;
const MAX_INPUT_TOKENS = 8192;
const MAX_REQUEST_TOKENS = 300_000;
const MAX_INPUTS = 2048;
const MAX_RECORDED = 1000;
/** Requests per minute of a low usage tier; the sim counts per route, OpenAI per model. */
const RPM: Record<string, number> = { chat_completions: 500, embeddings: 3000, transcriptions: 500 };

export interface RegisteredTranscript {
  text: string;
  /** ISO-639-1 code; verbose_json names the language ("english"). */
  language?: string;
  durationS?: number;
}

/** What a request asked for, for tests that check what left the system (never the audio bytes). */
export interface RecordedRequest {
  route: string;
  at: number;
  body: Record<string, unknown>;
}

interface OpenAISimState {
  transcripts: Map<string, RegisteredTranscript>;
  requests: RecordedRequest[];
}

const states = new WeakMap<PlatformSim, OpenAISimState>();
function state(sim: PlatformSim): OpenAISimState {
  const s = states.get(sim);
  if (!s) throw new Error(`${sim.id} is not the OpenAI simulator`);
  return s;
}

/** In-process equivalent of POST /v1/_sim/transcripts. */
export function registerTranscript(sim: PlatformSim, sha256: string, transcript: RegisteredTranscript): void {
  state(sim).transcripts.set(sha256.toLowerCase(), transcript);
}

/** In-process equivalent of GET /v1/_sim/requests. */
export function recordedRequests(sim: PlatformSim, route?: string): RecordedRequest[] {
  return state(sim).requests.filter((r) => !route || r.route === route);
}

type ErrorType = 'invalid_request_error' | 'server_error' | 'requests' | 'tokens' | 'insufficient_quota';

/** OpenAI's error envelope. */
export const openAIError = (
  status: number,
  message: string,
  type: ErrorType = 'invalid_request_error',
  param: string | null = null,
  code: string | null = null,
): SimReply => ({ status, body: { error: { message, type, param, code } } });

const missing = (param: string) =>
  openAIError(
    400,
    `Missing required parameter: '${param}'.`,
    'invalid_request_error',
    param,
    'missing_required_parameter',
  );
const modelNotFound = (model: string) =>
  openAIError(
    404,
    `The model \`${model}\` does not exist or you do not have access to it.`,
    'invalid_request_error',
    null,
    'model_not_found',
  );

/** OpenAI shows only the ends of a wrong key. */
const maskKey = (key: string) =>
  key.length > 8 ? `${key.slice(0, 3)}${'*'.repeat(key.length - 7)}${key.slice(-4)}` : '***';

function authProblem(req: SimRequest): SimReply | undefined {
  if (!req.token) {
    return openAIError(
      401,
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (i.e. Authorization: YOUR_KEY), or as the username field (i.e. Authorization: YOUR_KEY: ). You can obtain an API key from https://platform.openai.com/account/api-keys.",
    );
  }
  if (req.token.startsWith('sk-invalid')) {
    return openAIError(
      401,
      `Incorrect API key provided: ${maskKey(req.token)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
      'invalid_request_error',
      null,
      'invalid_api_key',
    );
  }
  return undefined;
}

const words = (text: string): string[] => text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];

/** A rough token count (about four bytes a token), enough for usage and limits. */
const approxTokens = (text: string): number => Math.max(1, Math.ceil(Buffer.byteLength(text) / 4));

export interface SimVerdict {
  label: 'positive' | 'neutral' | 'negative';
  /** Confidence in the label, 0..1. */
  score: number;
  reason: string;
}

/** The simulator's sentiment "model": keyword counts, no negation handling. */
export function simSentiment(text: string): SimVerdict {
  const ws = words(text);
  const pos = ws.filter((w) => (POSITIVE_WORDS as readonly string[]).includes(w));
  const neg = ws.filter((w) => (NEGATIVE_WORDS as readonly string[]).includes(w));
  if (pos.length === neg.length) {
    return {
      label: 'neutral',
      score: pos.length === 0 ? 0.9 : 0.55,
      reason: pos.length === 0 ? 'no sentiment words' : 'as many positive as negative words',
    };
  }
  const label = pos.length > neg.length ? 'positive' : 'negative';
  const score = Math.min(0.99, 0.6 + (0.4 * Math.abs(pos.length - neg.length)) / (pos.length + neg.length));
  return { label, score: Math.round(score * 100) / 100, reason: `matched ${[...pos, ...neg].join(', ')}` };
}

type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
};

/** A value of the requested schema carrying the verdict: enums get the label, numbers the score. */
function fillSchema(schema: JsonSchema | undefined, v: SimVerdict, key = ''): unknown {
  if (!schema || typeof schema !== 'object') return null;
  if (Array.isArray(schema.enum)) return schema.enum.includes(v.label) ? v.label : schema.enum[0];
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.anyOf) && schema.anyOf.length > 0) return fillSchema(schema.anyOf[0], v, key);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object':
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, s]) => [k, fillSchema(s, v, k)]));
    case 'array':
      return [];
    case 'number':
    case 'integer': {
      const n = Math.min(schema.maximum ?? Number.POSITIVE_INFINITY, Math.max(schema.minimum ?? 0, v.score));
      return type === 'integer' ? Math.round(n) : n;
    }
    case 'boolean':
      return false;
    case 'string':
      return /label|sentiment|class|category|polarity/i.test(key) ? v.label : v.reason;
    default:
      return null;
  }
}

/** Text of a chat message's content: a string or an array of parts. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => (p && typeof p === 'object' && typeof p.text === 'string' ? (p.text as string) : ''))
      .join('\n');
  }
  return '';
}

/** Hashed bag of words into `dims` signed buckets, unit length. Same words → same direction. */
export function simEmbedding(input: string | number[], dims: number): Float32Array {
  const features = typeof input === 'string' ? words(input) : input.map((t) => `#${t}`);
  // Text with no words at all (punctuation, emoji) still gets a stable, non-zero vector.
  if (features.length === 0) features.push(`raw:${String(input)}`);
  const v = new Float64Array(dims);
  for (const f of features) {
    const h = createHash('sha256').update(f).digest();
    const i = h.readUInt32LE(0) % dims;
    v[i] = (v[i] as number) + ((h[4] as number) & 1 ? 1 : -1);
  }
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  return Float32Array.from(v, (x) => x / norm);
}

/** Little-endian float32 bytes, base64: the wire format of encoding_format=base64. */
function float32Base64(v: Float32Array): string {
  const buf = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) buf.writeFloatLE(v[i] as number, i * 4);
  return buf.toString('base64');
}

const round2 = (n: number) => Math.round(n * 100) / 100;

interface Segment {
  id: number;
  start: number;
  end: number;
  text: string;
  words: { word: string; start: number; end: number }[];
}

/** Sentences as segments, timed in proportion to their word counts over the duration. */
function segmentsOf(text: string, durationS: number): Segment[] {
  const sentences = text
    .split(/(?<=[.!?])\s+/)
    .map((s) => s.trim())
    .filter(Boolean);
  const total = Math.max(
    1,
    sentences.reduce((n, s) => n + s.split(/\s+/).length, 0),
  );
  const perWord = durationS / total;
  let t = 0;
  return sentences.map((sentence, id) => {
    const ws = sentence.split(/\s+/);
    const start = t;
    const timed = ws.map((word, i) => ({
      word: word.replace(/[.,!?;:]+$/, ''),
      start: round2(start + i * perWord),
      end: round2(start + (i + 1) * perWord),
    }));
    t += ws.length * perWord;
    return { id, start: round2(start), end: round2(t), text: sentence, words: timed };
  });
}

const timestamp = (s: number, sep: ',' | '.') => {
  const ms = Math.round(s * 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}${sep}${pad(ms % 1000, 3)}`;
};

export function createOpenAISim(clock: Clock): { sim: PlatformSim; seed(): void } {
  const sim = new PlatformSim(clock, {
    id: 'openai',
    // OpenAI has no OAuth: these only satisfy the shared machinery.
    clientId: 'sim-openai-client',
    clientSecret: 'sim-openai-secret',
    policy: KEY_ONLY_POLICY,
    tokenPrefix: { access: 'sk-sim-', refresh: 'sk-sim-refresh-' },
    throttle: (s, retryAfterS, route) => {
      const limit = s.windows.find((w) => w.route === route)?.limit ?? RPM[route] ?? 500;
      const reply = openAIError(
        429,
        `Rate limit reached for requests in organization org-sim on requests per min (RPM): Limit ${limit}, Used ${limit}, Requested 1. Please try again in ${retryAfterS}s. Visit https://platform.openai.com/account/rate-limits to learn more.`,
        'requests',
        null,
        'rate_limit_exceeded',
      );
      return {
        ...reply,
        headers: {
          'retry-after': String(retryAfterS),
          'x-ratelimit-limit-requests': String(limit),
          'x-ratelimit-remaining-requests': '0',
          'x-ratelimit-reset-requests': `${retryAfterS}s`,
        },
      };
    },
    serverError: (_s, status) =>
      status === 503
        ? openAIError(503, 'The server is overloaded or not ready yet.', 'server_error')
        : openAIError(
            status,
            'The server had an error while processing your request. Sorry about that!',
            'server_error',
          ),
  });
  for (const [route, limit] of Object.entries(RPM)) sim.limit(route, limit, 60_000);
  const st: OpenAISimState = { transcripts: new Map(), requests: [] };
  states.set(sim, st);

  /** An authenticated API route: key check, quota knob, request log and an x-request-id on every answer. */
  function api(path: string, name: string, handler: (req: SimRequest) => SimReply | Promise<SimReply>): void {
    sim.route('POST', path, name, async (req) => {
      const reply =
        authProblem(req) ??
        (sim.knobs.insufficientQuota
          ? openAIError(
              429,
              'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
              'insufficient_quota',
              null,
              'insufficient_quota',
            )
          : await handler(req));
      return { ...reply, headers: { 'x-request-id': `req_${randomBytes(16).toString('hex')}`, ...reply.headers } };
    });
  }

  const record = (route: string, body: Record<string, unknown>) => {
    st.requests.push({ route, at: clock.now(), body: structuredClone(body) });
    // The newest requests only, so a long benchmark does not grow the simulator without bound.
    if (st.requests.length > MAX_RECORDED) st.requests.splice(0, st.requests.length - MAX_RECORDED);
  };

  // POST /v1/chat/completions
  api('/v1/chat/completions', 'chat_completions', (req) => {
    const body = req.json ?? {};
    record('chat_completions', body);
    const model = body.model;
    if (typeof model !== 'string' || !model) return openAIError(400, 'you must provide a model parameter');
    if (!/^(gpt-|o\d|chatgpt-)/.test(model)) return modelNotFound(model);
    if (body.messages === undefined) return missing('messages');
    const messages = body.messages;
    if (!Array.isArray(messages) || messages.length === 0)
      return openAIError(400, "[] is too short - 'messages'", 'invalid_request_error', 'messages');
    const temperature = body.temperature;
    if (temperature !== undefined && temperature !== null && (typeof temperature !== 'number' || temperature > 2))
      return openAIError(
        400,
        `Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got ${temperature} instead.`,
        'invalid_request_error',
        'temperature',
        'decimal_above_max_value',
      );
    const users = messages.filter((m) => m && typeof m === 'object' && (m as { role?: unknown }).role === 'user');
    const last = users.at(-1) as { content?: unknown } | undefined;
    const verdict = simSentiment(contentText(last?.content));

    const format = (body.response_format ?? { type: 'text' }) as {
      type?: string;
      json_schema?: { name?: string; schema?: JsonSchema };
    };
    let content: string;
    if (format.type === 'json_schema') {
      if (!format.json_schema?.name) return missing('response_format.json_schema.name');
      content = JSON.stringify(fillSchema(format.json_schema.schema ?? { type: 'object' }, verdict));
    } else if (format.type === 'json_object') {
      content = JSON.stringify({ label: verdict.label, score: verdict.score });
    } else if (format.type === 'text') {
      content = verdict.label;
    } else {
      return openAIError(
        400,
        `Invalid value: '${String(format.type)}'. Supported values are: 'json_object', 'json_schema', and 'text'.`,
        'invalid_request_error',
        'response_format.type',
        'invalid_value',
      );
    }
    const promptTokens = messages.reduce(
      (n: number, m) => n + 4 + approxTokens(contentText((m as { content?: unknown })?.content)),
      3,
    );
    const completionTokens = approxTokens(content);
    return {
      status: 200,
      body: {
        id: `chatcmpl-${randomBytes(15).toString('base64url')}`,
        object: 'chat.completion',
        created: Math.floor(clock.now() / 1000),
        model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content, refusal: null, annotations: [] },
            logprobs: null,
            finish_reason: 'stop',
          },
        ],
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: completionTokens,
          total_tokens: promptTokens + completionTokens,
          prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
          completion_tokens_details: {
            reasoning_tokens: 0,
            audio_tokens: 0,
            accepted_prediction_tokens: 0,
            rejected_prediction_tokens: 0,
          },
        },
        service_tier: 'default',
        system_fingerprint: 'fp_simulator',
      },
    };
  });

  // POST /v1/embeddings
  api('/v1/embeddings', 'embeddings', (req) => {
    const body = req.json ?? {};
    record('embeddings', body);
    const model = body.model;
    if (typeof model !== 'string' || !model) return openAIError(400, 'you must provide a model parameter');
    const spec = EMBEDDING_MODELS[model];
    if (!spec) return modelNotFound(model);
    if (body.input === undefined) return missing('input');
    const invalidInput = () =>
      openAIError(
        400,
        "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
      );
    const raw = body.input;
    // A string, a token array, or a list of either.
    const inputs: (string | number[])[] =
      typeof raw === 'string'
        ? [raw]
        : Array.isArray(raw) && raw.length > 0 && raw.every((x) => typeof x === 'number')
          ? [raw as number[]]
          : Array.isArray(raw)
            ? (raw as (string | number[])[])
            : [];
    const valid = (x: unknown) =>
      (typeof x === 'string' && x.length > 0) ||
      (Array.isArray(x) && x.length > 0 && x.every((t) => Number.isInteger(t)));
    if (inputs.length === 0 || inputs.length > MAX_INPUTS || !inputs.every(valid)) return invalidInput();
    const tokens = inputs.map((x) => (typeof x === 'string' ? approxTokens(x) : x.length));
    const longest = Math.max(...tokens);
    if (longest > MAX_INPUT_TOKENS)
      return openAIError(
        400,
        `This model's maximum context length is ${MAX_INPUT_TOKENS} tokens, however you requested ${longest} tokens (${longest} in your prompt; 0 for the completion). Please reduce your prompt; or completion length.`,
      );
    const totalTokens = tokens.reduce((a, b) => a + b, 0);
    if (totalTokens > MAX_REQUEST_TOKENS)
      return openAIError(
        400,
        `Requested ${totalTokens} tokens, max ${MAX_REQUEST_TOKENS} tokens per request`,
        'invalid_request_error',
        null,
        'max_tokens_per_request',
      );
    let dims = spec.dims;
    if (body.dimensions !== undefined && body.dimensions !== null) {
      if (!spec.shortenable) return openAIError(400, 'This model does not support specifying dimensions.');
      const d = body.dimensions;
      if (typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > spec.dims)
        return openAIError(
          400,
          `Invalid value for 'dimensions' = ${String(d)}. Must be between 1 and ${spec.dims}.`,
          'invalid_request_error',
          'dimensions',
        );
      dims = d;
    }
    const encoding = body.encoding_format ?? 'float';
    if (encoding !== 'float' && encoding !== 'base64')
      return openAIError(
        400,
        `'${String(encoding)}' is not one of ['float', 'base64'] - 'encoding_format'`,
        'invalid_request_error',
        'encoding_format',
      );
    return {
      status: 200,
      body: {
        object: 'list',
        data: inputs.map((input, index) => {
          const v = simEmbedding(input, dims);
          return { object: 'embedding', index, embedding: encoding === 'base64' ? float32Base64(v) : Array.from(v) };
        }),
        model,
        usage: { prompt_tokens: totalTokens, total_tokens: totalTokens },
      },
    };
  });

  // POST /v1/audio/transcriptions (multipart/form-data)
  api('/v1/audio/transcriptions', 'transcriptions', async (req) => {
    const contentType = String(req.headers['content-type'] ?? '');
    if (!contentType.startsWith('multipart/form-data'))
      return openAIError(
        400,
        "Invalid Content-Type header (application/json), expected multipart/form-data. (HINT: If you're using curl, you can pass -H 'Content-Type: multipart/form-data')",
      );
    let form: FormData;
    try {
      form = await new Response(new Uint8Array(req.bytes), { headers: { 'content-type': contentType } }).formData();
    } catch {
      return openAIError(400, 'Could not parse multipart form');
    }
    const field = (name: string) => {
      const v = form.get(name);
      return typeof v === 'string' ? v : undefined;
    };
    const file = form.get('file');
    const model = field('model');
    const responseFormat = field('response_format') ?? 'json';
    const granularities = form.getAll('timestamp_granularities[]').map(String);
    const language = field('language');
    if (!(file instanceof File)) return missing('file');
    const bytes = Buffer.from(await file.arrayBuffer());
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    record('transcriptions', {
      model,
      filename: file.name,
      bytes: bytes.length,
      sha256,
      response_format: responseFormat,
      timestamp_granularities: granularities,
      language,
    });
    if (!model) return missing('model');
    const formats = TRANSCRIPTION_MODELS[model];
    if (!formats) return modelNotFound(model);
    if (bytes.length > MAX_UPLOAD_BYTES)
      return openAIError(
        413,
        `Maximum content size limit (${MAX_UPLOAD_BYTES}) exceeded (${bytes.length} bytes read)`,
        'server_error',
      );
    const ext = file.name.split('.').pop()?.toLowerCase() ?? '';
    if (!AUDIO_FORMATS.includes(ext))
      return openAIError(
        400,
        `Invalid file format. Supported formats: ${JSON.stringify(AUDIO_FORMATS).replaceAll('"', "'").replaceAll(',', ', ')}`,
        'invalid_request_error',
        null,
        'invalid_value',
      );
    if (!formats.includes(responseFormat))
      return openAIError(
        400,
        `response_format '${responseFormat}' is not compatible with model '${model}'. Use ${formats.map((f) => `'${f}'`).join(' or ')} instead.`,
        'invalid_request_error',
        'response_format',
        'unsupported_value',
      );
    if (granularities.length > 0 && responseFormat !== 'verbose_json')
      return openAIError(
        400,
        'timestamp_granularities is only supported with response_format=verbose_json',
        'invalid_request_error',
        'timestamp_granularities',
      );

    const known = st.transcripts.get(sha256);
    const text = known?.text ?? DEFAULT_TRANSCRIPT;
    // Without a registered duration: about 2.5 spoken words a second.
    const duration = round2(known?.durationS ?? Math.max(1, text.split(/\s+/).length / 2.5));
    const lang = language ?? known?.language ?? 'en';
    const segments = segmentsOf(text, duration);
    const usage = model === 'whisper-1' ? { type: 'duration', seconds: Math.ceil(duration) } : undefined;
    switch (responseFormat) {
      case 'text':
        return { status: 200, body: `${text}\n` };
      case 'srt':
      case 'vtt': {
        const sep = responseFormat === 'srt' ? ',' : '.';
        const cues = segments.map(
          (s) =>
            `${responseFormat === 'srt' ? `${s.id + 1}\n` : ''}${timestamp(s.start, sep)} --> ${timestamp(s.end, sep)}\n${s.text}\n`,
        );
        return { status: 200, body: `${responseFormat === 'vtt' ? 'WEBVTT\n\n' : ''}${cues.join('\n')}` };
      }
      case 'verbose_json':
        return {
          status: 200,
          body: {
            task: 'transcribe',
            language: LANGUAGES[lang] ?? lang,
            duration,
            text,
            ...(granularities.includes('word') ? { words: segments.flatMap((s) => s.words) } : {}),
            // OpenAI returns segments unless only word timestamps were asked for.
            ...(granularities.length === 0 || granularities.includes('segment')
              ? {
                  segments: segments.map((s) => ({
                    id: s.id,
                    seek: 0,
                    start: s.start,
                    end: s.end,
                    text: ` ${s.text}`,
                    tokens: [],
                    temperature: 0,
                    avg_logprob: -0.25,
                    compression_ratio: 1.3,
                    no_speech_prob: 0.01,
                  })),
                }
              : {}),
            ...(usage ? { usage } : {}),
          },
        };
      default:
        return { status: 200, body: { text, ...(usage ? { usage } : {}) } };
    }
  });

  // Simulator-only: what the transcription "model" says for given bytes (it cannot hear).
  sim.route('POST', '/v1/_sim/transcripts', 'sim_register', (req) => {
    const body = req.json ?? {};
    const sha256 =
      typeof body.sha256 === 'string'
        ? body.sha256.toLowerCase()
        : typeof body.contentBase64 === 'string'
          ? createHash('sha256').update(Buffer.from(body.contentBase64, 'base64')).digest('hex')
          : undefined;
    if (!sha256 || !/^[0-9a-f]{64}$/.test(sha256) || typeof body.text !== 'string' || !body.text)
      return { status: 400, body: { error: 'sha256 (hex) or contentBase64, and text, are required' } };
    const durationS = body.durationS === undefined ? undefined : Number(body.durationS);
    if (durationS !== undefined && !(durationS > 0))
      return { status: 400, body: { error: 'durationS must be positive' } };
    st.transcripts.set(sha256, {
      text: body.text,
      language: typeof body.language === 'string' ? body.language : undefined,
      durationS,
    });
    return { status: 200, body: { ok: true, sha256 } };
  });

  // Simulator-only: the recorded request bodies (audio bytes never), e.g. to prove what was sent.
  sim.route('GET', '/v1/_sim/requests', 'sim_requests', (req) => ({
    status: 200,
    body: recordedRequests(sim, req.query.get('route') ?? undefined),
  }));

  const seed = () => {
    st.transcripts.clear();
    st.requests = [];
    sim.knobs.insufficientQuota = 0;
    // One organisation, for the shared admin API (OpenAI keys belong to an org, not a user grant).
    sim.addAccount({ id: 'org-sim', name: 'Simulated Organization' });
  };
  return { sim, seed };
}
