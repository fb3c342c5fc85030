import path from 'node:path';
import { defaultPolicy, type LoginThrottlePolicy, MINUTE, SECOND } from '../domain/policy.ts';
import { defaultTaskQueues, TASK_QUEUE_KINDS, type TaskQueues } from '../domain/task-queues.ts';
import type { AdapterConfig } from '../platforms/types.ts';
import { PLATFORMS, type PlatformId } from '../platforms/types.ts';
import type { MediaIngestPolicy } from '../workflows/media.messages.ts';
import { type KeyRing, parseKeyRing, VaultError } from './vault.ts';

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..');

export interface Config {
  host: string;
  port: number;
  logLevel: string;
  /** false, a hop count, or proxy addresses/CIDRs, as Fastify's trustProxy takes them. */
  trustProxy: false | number | string[];
  bodyLimitBytes: number;
  dataDir: string;
  databaseUrl: string;
  temporal: {
    address: string;
    uiPort: number;
    namespace: string;
    retentionDays: number;
  };
  taskQueues: TaskQueues;
  workflowBundlePath: string;
  workerMetricsPort: number | undefined;
  workerMetricsUrls: string[];
  workerConnectAttempts: number;
  /** Core workers create and update the Temporal Schedules at start (retention, publish reconciler). */
  workerSchedules: boolean;
  auth: {
    bcryptCost: number;
    sessionTtlMs: number;
    loginThrottle: LoginThrottlePolicy;
  };
  invitationTtlMs: number;
  /** Base URL browsers reach the API at; OAuth redirect URIs are built from it. */
  publicUrl: string;
  simulatorUrl: string;
  /** Per platform: real credentials, or the simulator when none are configured. */
  platforms: Record<PlatformId, AdapterConfig>;
  /** Google OIDC for signing in to Switchboard. */
  googleSignIn: AdapterConfig;
  keyRing: KeyRing;
  oauthStateTtlMs: number;
  privacy: PrivacyPolicy;
  /** Where at-risk and overdue deletion alerts are mailed; empty: in-app alerts only. */
  complianceEmail: string;
  /** No apiKey: no OpenAI client, and the features that need one are off. */
  openai: { apiKey: string | undefined; baseUrl: string; timeoutMs: number };
  sentiment: { provider: SentimentProvider; model: string };
  /** Echoed by platforms' webhook endpoint checks (Meta's hub.verify_token). */
  webhookVerifyToken: string;
  /** Object storage (attachments, the media library): `local` keeps files under `dir`, `s3` in a bucket. */
  storage: { driver: StorageDriver; dir: string; s3: S3Settings | undefined };
  media: MediaSettings;
}

/** An S3-compatible bucket (AWS, MinIO, R2, Ceph…), addressed path-style when `pathStyle`. */
export interface S3Settings {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  pathStyle: boolean;
}

export interface MediaSettings {
  /** Largest accepted upload. */
  maxUploadBytes: number;
  /** Default storage limit of a workspace's media library (originals and derived files). */
  workspaceQuotaBytes: number;
  /** Images (and PDF pages, video frames) with more pixels than this fail instead of being decoded. */
  maxPixels: number;
  /** CPU-heavy stages (probe, thumbnails, OCR, audio) run at most this many at once per media worker. */
  cpuConcurrency: number;
  /** Off: images and scanned PDF pages are not read (a PDF's own text layer still is). */
  ocr: boolean;
  transcription: { provider: AiProvider; model: string };
  embeddings: { provider: AiProvider; model: string; dimensions: number };
  ingest: MediaIngestPolicy;
}

export const SENTIMENT_PROVIDERS = ['openai', 'none'] as const;
export type SentimentProvider = (typeof SENTIMENT_PROVIDERS)[number];
export const STORAGE_DRIVERS = ['local', 's3'] as const;
/** `none`: the stage is skipped with a status that says so. */
export const AI_PROVIDERS = ['openai', 'none'] as const;
export type AiProvider = (typeof AI_PROVIDERS)[number];
export type StorageDriver = (typeof STORAGE_DRIVERS)[number];

/** Deletion and export durations (policy values; tests pass short ones). */
export interface PrivacyPolicy {
  /** Account deletion: how long the account can still be restored. */
  graceMs: number;
  /** First-party data is purged at most this long after the grace ends. */
  purgeWithinMs: number;
  /** Platform data (YouTube, Meta and the rest): deleted within this of the request. */
  platformDeadlineMs: number;
  /** A request still open this long before its due date is at risk. */
  atRiskBeforeMs: number;
  /** Meta signed requests older (or further in the future) than this are refused. */
  signedRequestMaxAgeMs: number;
  exportLinkTtlMs: number;
  /** Backoff of a failing deletion step (it retries until it succeeds; the deadline monitor reports). */
  stepRetryInitialMs: number;
  stepRetryMaxMs: number;
}

/** Sign-in with Google plus one entry per platform: client id, secret and base URL. */
export const OAUTH_CLIENTS = ['google', ...PLATFORMS] as const;
export type OAuthClient = (typeof OAUTH_CLIENTS)[number];

/** The per-platform variables, documented in the README like ENV_VARS. */
export const PLATFORM_ENV_VARS: Record<string, readonly [string, string]> = Object.fromEntries(
  OAUTH_CLIENTS.flatMap((id) => {
    const name = id === 'google' ? 'Google sign-in' : id;
    const P = id.toUpperCase();
    return [
      [`${P}_CLIENT_ID`, ['', `OAuth client id for ${name}. Unset: the adapter uses the simulator at SIMULATOR_URL.`]],
      [`${P}_CLIENT_SECRET`, ['', `OAuth client secret for ${name}.`]],
      [`${P}_BASE_URL`, ['', `Replaces every ${name} host (a proxy or a simulator); unset means the real hosts.`]],
    ];
  }),
);

/**
 * Every environment variable the system reads, with its default and meaning. The README's
 * configuration table is this list.
 */
export const ENV_VARS = {
  HOST: ['127.0.0.1', 'Address the API listens on (0.0.0.0 in containers).'],
  PORT: ['3000', 'API port.'],
  LOG_LEVEL: ['info', 'pino level: fatal, error, warn, info, debug, trace.'],
  TRUST_PROXY: [
    'false',
    'Proxies whose X-Forwarded-For is believed: false, a hop count (1 behind one proxy), or comma-separated addresses/CIDRs.',
  ],
  BODY_LIMIT_BYTES: ['65536', 'Largest accepted JSON body; larger ones get 413.'],
  DATA_DIR: ['.data', 'Where `npm start` keeps the Temporal dev-server SQLite file and logs.'],
  DATABASE_URL: [
    'postgres://postgres@127.0.0.1:5432/switchboard',
    'PostgreSQL for the application (not Temporal’s own databases).',
  ],
  TEMPORAL_ADDRESS: [
    '127.0.0.1:7233',
    'Temporal frontend. When it is local and nothing answers, `npm start` runs a dev server there.',
  ],
  TEMPORAL_UI_PORT: ['8233', 'Web UI port of the dev server that `npm start` runs.'],
  TEMPORAL_NAMESPACE: ['switchboard', 'Namespace; registered at worker start if missing.'],
  TEMPORAL_RETENTION_DAYS: ['3', 'History retention for a namespace the workers register (histories hold ids only).'],
  TEMPORAL_CLI_PATH: ['', 'Path to a `temporal` CLI binary; otherwise PATH, then a project-local build.'],
  TASK_QUEUE_CORE: ['switchboard-core', 'Task queue of the core worker (accounts, workspaces, invitations).'],
  TASK_QUEUE_MEDIA: [
    'switchboard-media',
    'Task queue of the media worker: the CPU-heavy ingest stages (probe, thumbnails, OCR, audio).',
  ],
  WORKFLOW_BUNDLE_PATH: ['dist/workflow-bundle.js', 'Prebuilt workflow bundle (`npm run bundle`).'],
  WORKER_METRICS_PORT: [
    '',
    'Port where a worker serves its Temporal SDK metrics in Prometheus format (`npm start`: the first of one port per task queue, 9464 if unset).',
  ],
  WORKER_METRICS_URLS: ['', 'Comma-separated worker metrics URLs that the API’s /metrics merges in.'],
  WORKER_CONNECT_ATTEMPTS: ['8', 'Connection attempts (exponential backoff) before a worker exits non-zero.'],
  WORKER_SCHEDULES: [
    'on',
    '`on`: a core worker creates and updates the Temporal Schedules at start (retention sweeps, publish reconciler); `off` for extra workers.',
  ],
  BCRYPT_COST: [String(defaultPolicy.bcryptCost), 'bcrypt work factor for passwords (10 or more).'],
  SESSION_TTL_HOURS: [String(defaultPolicy.sessionTtlMs / 3_600_000), 'Lifetime of a sign-in session.'],
  INVITATION_TTL_HOURS: [String(defaultPolicy.invitationTtlMs / 3_600_000), 'Default invitation expiry.'],
  LOGIN_FREE_ATTEMPTS: [String(defaultPolicy.loginThrottle.freeAttempts), 'Failed sign-ins before delays start.'],
  LOGIN_BASE_DELAY_MS: [String(defaultPolicy.loginThrottle.baseDelayMs), 'First forced delay; doubles per failure.'],
  LOGIN_MAX_DELAY_MS: [String(defaultPolicy.loginThrottle.maxDelayMs), 'Largest forced delay between attempts.'],
  LOGIN_LOCKOUT_THRESHOLD: [String(defaultPolicy.loginThrottle.lockoutThreshold), 'Failures that lock an account.'],
  LOGIN_LOCKOUT_MINUTES: [String(defaultPolicy.loginThrottle.lockoutMs / MINUTE), 'How long a lockout lasts.'],
  LOGIN_IP_MAX_FAILURES: [String(defaultPolicy.loginThrottle.ipMaxFailures), 'Failed sign-ins per IP per window.'],
  LOGIN_IP_WINDOW_MINUTES: [String(defaultPolicy.loginThrottle.ipWindowMs / MINUTE), 'Per-IP counting window.'],
  PUBLIC_URL: ['http://127.0.0.1:3000', 'Base URL browsers reach the API at; OAuth redirect URIs are built from it.'],
  SIMULATOR_URL: [
    'http://127.0.0.1:4010',
    'Platform simulators (`npm start` runs them here when it is local); platforms without a client id use them.',
  ],
  TOKEN_KEYS: [
    '',
    'OAuth-token encryption keys, `id:base64` (32 bytes) comma-separated. Required in production; unset uses a fixed development key.',
  ],
  TOKEN_KEY_ID: [
    '',
    'Key that new ciphertexts use (default: the first in TOKEN_KEYS); `npm run rotate-keys` moves the rest to it.',
  ],
  OAUTH_STATE_TTL_MINUTES: [
    String(defaultPolicy.oauthStateTtlMs / MINUTE),
    'How long an OAuth start (state) stays usable.',
  ],
  PLATFORM_TIMEOUT_MS: [String(defaultPolicy.platformTimeoutMs), 'Timeout of one call to a platform.'],
  NODE_ENV: ['', '`production` makes TOKEN_KEYS and WEBHOOK_VERIFY_TOKEN mandatory.'],
  DELETION_GRACE_SECONDS: [
    String(defaultPolicy.privacy.graceMs / SECOND),
    'Account deletion: recovery grace (capped so the purge lands within a calendar month).',
  ],
  DELETION_PURGE_WITHIN_SECONDS: [
    String(defaultPolicy.privacy.purgeWithinMs / SECOND),
    'Account deletion: first-party data is purged within this after the grace.',
  ],
  DELETION_PLATFORM_DEADLINE_SECONDS: [
    String(defaultPolicy.privacy.platformDeadlineMs / SECOND),
    'Deadline for deleting platform data (YouTube 7 days; Meta "promptly", 7-day target).',
  ],
  DELETION_AT_RISK_SECONDS: [
    String(defaultPolicy.privacy.atRiskBeforeMs / SECOND),
    'An open deletion request this close to its due date is flagged at risk.',
  ],
  META_SIGNED_REQUEST_MAX_AGE_SECONDS: [
    String(defaultPolicy.privacy.signedRequestMaxAgeMs / SECOND),
    'Meta deletion/deauthorize callbacks with an older issued_at are refused.',
  ],
  EXPORT_LINK_TTL_SECONDS: [
    String(defaultPolicy.privacy.exportLinkTtlMs / SECOND),
    'How long an export download link works.',
  ],
  DELETION_RETRY_MAX_SECONDS: [
    String(defaultPolicy.privacy.stepRetryMaxMs / SECOND),
    'Longest wait between retries of a failing deletion step.',
  ],
  COMPLIANCE_EMAIL: ['', 'Address that receives at-risk and overdue deletion alerts.'],
  OPENAI_API_KEY: [
    '',
    'OpenAI API key (sentiment, transcripts, embeddings). Unset: the features that need OpenAI are off.',
  ],
  OPENAI_BASE_URL: [
    'https://api.openai.com/v1',
    'OpenAI API base URL: a proxy, or the simulator at `SIMULATOR_URL/openai/v1` (which accepts any key).',
  ],
  OPENAI_TIMEOUT_MS: ['60000', 'Timeout of one OpenAI request. The SDK does not retry; Temporal activities do.'],
  SENTIMENT_PROVIDER: [
    'openai',
    '`openai`: inbox messages are classified with SENTIMENT_MODEL (needs OPENAI_API_KEY; only the message text is sent); `none`: off.',
  ],
  SENTIMENT_MODEL: ['gpt-4o-mini', 'Chat model of the OpenAI sentiment classifier.'],
  WEBHOOK_VERIFY_TOKEN: [
    'switchboard-dev-verify-token',
    "The verify token entered in each platform's webhook settings (Meta's hub.verify_token). Set your own in production.",
  ],
  STORAGE_DRIVER: [
    'local',
    'Object storage for the media library and attachments: `local` (files under STORAGE_DIR) or `s3` (an S3-compatible bucket, the S3_* variables).',
  ],
  STORAGE_DIR: ['', 'Folder of the `local` storage driver; unset: `storage` under DATA_DIR.'],
  S3_ENDPOINT: ['', 'S3 endpoint, e.g. https://s3.eu-west-1.amazonaws.com or a MinIO URL.'],
  S3_REGION: ['us-east-1', 'Region the S3 requests are signed for.'],
  S3_BUCKET: ['', 'Bucket that holds the objects.'],
  S3_ACCESS_KEY_ID: ['', 'S3 access key id.'],
  S3_SECRET_ACCESS_KEY: ['', 'S3 secret access key.'],
  S3_PATH_STYLE: ['on', 'Path-style addressing (`endpoint/bucket/key`), as MinIO needs; `off`: virtual-hosted style.'],
  FFMPEG_PATH: ['', 'ffmpeg binary for the media worker; unset: `ffmpeg` on PATH (Debian package `ffmpeg`).'],
  FFPROBE_PATH: ['', 'ffprobe binary; unset: `ffprobe` on PATH.'],
  POPPLER_DIR: ['', 'Folder with pdftoppm, pdftotext and pdfinfo; unset: PATH (Debian package `poppler-utils`).'],
  MEDIA_MAX_UPLOAD_MB: ['1024', 'Largest media upload in MiB.'],
  MEDIA_WORKSPACE_QUOTA_MB: [
    '10240',
    'Default media storage limit of a workspace in MiB (originals and derived files).',
  ],
  MEDIA_MAX_MEGAPIXELS: [
    '100',
    'Images, pages and frames larger than this fail with a clear reason instead of being decoded.',
  ],
  MEDIA_CPU_CONCURRENCY: [
    '3',
    'CPU-heavy ingest stages running at once per media worker: the core count plus one, since a stage also waits on storage and the database.',
  ],
  MEDIA_OCR: [
    'on',
    'Text in images and scanned PDF pages is read with tesseract (English, offline); `off` saves the CPU.',
  ],
  TRANSCRIPTION_PROVIDER: [
    'openai',
    '`openai`: audio and video are transcribed with TRANSCRIPTION_MODEL (needs OPENAI_API_KEY); `none`: the stage is skipped with a status that says so.',
  ],
  TRANSCRIPTION_MODEL: ['whisper-1', 'OpenAI speech-to-text model; `whisper-1` returns segment times.'],
  EMBEDDING_PROVIDER: [
    'openai',
    '`openai`: transcript and OCR chunks are embedded with EMBEDDING_MODEL (needs OPENAI_API_KEY); `none`: keyword search only.',
  ],
  EMBEDDING_MODEL: ['text-embedding-3-small', 'OpenAI embedding model.'],
  EMBEDDING_DIMENSIONS: [
    '512',
    'Length the embeddings are shortened to (text-embedding-3 models accept it); shorter vectors make exact search faster. Changing it needs a re-index.',
  ],
} as const satisfies Record<string, readonly [string, string]>;

type EnvName = keyof typeof ENV_VARS;
type Env = Record<string, string | undefined>;

export class ConfigError extends Error {}

function read(env: Env, name: EnvName): string {
  const value = env[name];
  return value === undefined || value === '' ? ENV_VARS[name][0] : value;
}

function int(env: Env, name: EnvName, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = read(env, name);
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/** `true` is refused on purpose: trusting every hop lets any client forge its address. */
function trustProxy(raw: string): false | number | string[] {
  if (raw === 'false' || raw === '0') return false;
  if (/^\d+$/.test(raw)) return Number(raw);
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (raw === 'true' || !list.every((s) => /^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(s))) {
    throw new ConfigError(`TRUST_PROXY must be false, a hop count, or proxy addresses/CIDRs, got "${raw}"`);
  }
  return list;
}

function onOff(env: Env, name: EnvName): boolean {
  const raw = read(env, name);
  if (raw !== 'on' && raw !== 'off') throw new ConfigError(`${name} must be on or off, got "${raw}"`);
  return raw === 'on';
}

function oneOf<T extends string>(env: Env, name: EnvName, allowed: readonly T[], note = ''): T {
  const raw = read(env, name);
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be ${allowed.join(' or ')}${note}, got "${raw}"`);
  }
  return raw as T;
}

function httpUrl(env: Env, name: EnvName): string {
  const raw = read(env, name);
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ConfigError(`${name} must be an http(s) URL, got "${raw}"`);
  }
  return raw.replace(/\/+$/, '');
}

/** Where the workflow bundle is; alone, so building the bundle (an image build) needs no secrets. */
export function workflowBundlePath(env: Env = process.env): string {
  return path.resolve(PROJECT_ROOT, read(env, 'WORKFLOW_BUNDLE_PATH'));
}

/** The published development default would let anyone subscribe a production endpoint. */
function verifyToken(env: Env): string {
  const token = read(env, 'WEBHOOK_VERIFY_TOKEN');
  if (read(env, 'NODE_ENV') === 'production' && token === ENV_VARS.WEBHOOK_VERIFY_TOKEN[0]) {
    throw new ConfigError('WEBHOOK_VERIFY_TOKEN must be set to your own value in production');
  }
  return token;
}

function list(env: Env, name: EnvName): string[] {
  return read(env, name)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function adapterConfig(env: Env, id: OAuthClient, simulatorUrl: string, timeoutMs: number): AdapterConfig {
  const P = id.toUpperCase();
  const clientId = env[`${P}_CLIENT_ID`] ?? '';
  const baseUrl = env[`${P}_BASE_URL`] ?? '';
  // No credentials: the simulator, with the credentials it accepts.
  if (!clientId) {
    return {
      clientId: `sim-${id}-client`,
      clientSecret: `sim-${id}-secret`,
      baseUrl: baseUrl || `${simulatorUrl.replace(/\/$/, '')}/${id}`,
      timeoutMs,
    };
  }
  return { clientId, clientSecret: env[`${P}_CLIENT_SECRET`] ?? '', baseUrl, timeoutMs };
}

export function loadConfig(env: Env = process.env): Config {
  const taskQueues = { ...defaultTaskQueues };
  for (const kind of TASK_QUEUE_KINDS) {
    taskQueues[kind] = read(env, `TASK_QUEUE_${kind.toUpperCase()}` as EnvName);
  }
  const metricsPort = read(env, 'WORKER_METRICS_PORT');
  const simulatorUrl = read(env, 'SIMULATOR_URL');
  const timeoutMs = int(env, 'PLATFORM_TIMEOUT_MS', 100, 120_000);
  const dataDir = path.resolve(PROJECT_ROOT, read(env, 'DATA_DIR'));
  const storageDir = read(env, 'STORAGE_DIR');
  let keyRing: KeyRing;
  try {
    keyRing = parseKeyRing(read(env, 'TOKEN_KEYS'), read(env, 'TOKEN_KEY_ID'), read(env, 'NODE_ENV') === 'production');
  } catch (err) {
    if (err instanceof VaultError) throw new ConfigError(err.message);
    throw err;
  }
  return {
    host: read(env, 'HOST'),
    port: int(env, 'PORT', 0, 65535),
    logLevel: read(env, 'LOG_LEVEL'),
    trustProxy: trustProxy(read(env, 'TRUST_PROXY')),
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 1024),
    dataDir,
    databaseUrl: read(env, 'DATABASE_URL'),
    temporal: {
      address: read(env, 'TEMPORAL_ADDRESS'),
      uiPort: int(env, 'TEMPORAL_UI_PORT', 1, 65535),
      namespace: read(env, 'TEMPORAL_NAMESPACE'),
      retentionDays: int(env, 'TEMPORAL_RETENTION_DAYS', 1, 3650),
    },
    taskQueues,
    workflowBundlePath: workflowBundlePath(env),
    workerMetricsPort: metricsPort ? int(env, 'WORKER_METRICS_PORT', 1, 65535) : undefined,
    workerMetricsUrls: list(env, 'WORKER_METRICS_URLS'),
    workerConnectAttempts: int(env, 'WORKER_CONNECT_ATTEMPTS', 1, 100),
    workerSchedules: onOff(env, 'WORKER_SCHEDULES'),
    auth: {
      bcryptCost: int(env, 'BCRYPT_COST', 10, 15),
      sessionTtlMs: int(env, 'SESSION_TTL_HOURS', 1, 24 * 365) * 3_600_000,
      loginThrottle: {
        freeAttempts: int(env, 'LOGIN_FREE_ATTEMPTS', 0, 100),
        baseDelayMs: int(env, 'LOGIN_BASE_DELAY_MS', 1),
        maxDelayMs: int(env, 'LOGIN_MAX_DELAY_MS', 1),
        lockoutThreshold: int(env, 'LOGIN_LOCKOUT_THRESHOLD', 1, 1000),
        lockoutMs: int(env, 'LOGIN_LOCKOUT_MINUTES', 1, 24 * 60) * MINUTE,
        ipMaxFailures: int(env, 'LOGIN_IP_MAX_FAILURES', 1),
        ipWindowMs: int(env, 'LOGIN_IP_WINDOW_MINUTES', 1, 24 * 60) * MINUTE,
      },
    },
    invitationTtlMs: int(env, 'INVITATION_TTL_HOURS', 1, 24 * 30) * 3_600_000,
    publicUrl: read(env, 'PUBLIC_URL').replace(/\/$/, ''),
    simulatorUrl,
    platforms: Object.fromEntries(
      PLATFORMS.map((id) => [id, adapterConfig(env, id, simulatorUrl, timeoutMs)]),
    ) as Record<PlatformId, AdapterConfig>,
    googleSignIn: adapterConfig(env, 'google', simulatorUrl, timeoutMs),
    keyRing,
    oauthStateTtlMs: int(env, 'OAUTH_STATE_TTL_MINUTES', 1, 60) * MINUTE,
    privacy: {
      graceMs: int(env, 'DELETION_GRACE_SECONDS', 0) * SECOND,
      purgeWithinMs: int(env, 'DELETION_PURGE_WITHIN_SECONDS', 1) * SECOND,
      platformDeadlineMs: int(env, 'DELETION_PLATFORM_DEADLINE_SECONDS', 1) * SECOND,
      atRiskBeforeMs: int(env, 'DELETION_AT_RISK_SECONDS', 0) * SECOND,
      signedRequestMaxAgeMs: int(env, 'META_SIGNED_REQUEST_MAX_AGE_SECONDS', 1) * SECOND,
      exportLinkTtlMs: int(env, 'EXPORT_LINK_TTL_SECONDS', 1) * SECOND,
      stepRetryInitialMs: defaultPolicy.privacy.stepRetryInitialMs,
      stepRetryMaxMs: int(env, 'DELETION_RETRY_MAX_SECONDS', 1) * SECOND,
    },
    complianceEmail: read(env, 'COMPLIANCE_EMAIL'),
    openai: {
      apiKey: read(env, 'OPENAI_API_KEY') || undefined,
      baseUrl: httpUrl(env, 'OPENAI_BASE_URL'),
      timeoutMs: int(env, 'OPENAI_TIMEOUT_MS', 1000, 600_000),
    },
    sentiment: {
      provider: oneOf(env, 'SENTIMENT_PROVIDER', SENTIMENT_PROVIDERS),
      model: read(env, 'SENTIMENT_MODEL'),
    },
    webhookVerifyToken: verifyToken(env),
    storage: {
      driver: oneOf(env, 'STORAGE_DRIVER', STORAGE_DRIVERS),
      dir: storageDir ? path.resolve(PROJECT_ROOT, storageDir) : path.join(dataDir, 'storage'),
      s3: s3Settings(env),
    },
    media: {
      maxUploadBytes: int(env, 'MEDIA_MAX_UPLOAD_MB', 1, 1024 * 1024) * MIB,
      workspaceQuotaBytes: int(env, 'MEDIA_WORKSPACE_QUOTA_MB', 1) * MIB,
      maxPixels: int(env, 'MEDIA_MAX_MEGAPIXELS', 1, 10_000) * 1_000_000,
      cpuConcurrency: int(env, 'MEDIA_CPU_CONCURRENCY', 1, 64),
      ocr: onOff(env, 'MEDIA_OCR'),
      transcription: {
        provider: oneOf(env, 'TRANSCRIPTION_PROVIDER', AI_PROVIDERS),
        model: read(env, 'TRANSCRIPTION_MODEL'),
      },
      embeddings: {
        provider: oneOf(env, 'EMBEDDING_PROVIDER', AI_PROVIDERS),
        model: read(env, 'EMBEDDING_MODEL'),
        dimensions: int(env, 'EMBEDDING_DIMENSIONS', 8, 3072),
      },
      ingest: {
        stageAttempts: defaultPolicy.media.stageAttempts,
        retryInitialMs: defaultPolicy.media.retryInitialMs,
        retryMaxMs: defaultPolicy.media.retryMaxMs,
        heartbeatTimeoutMs: defaultPolicy.media.heartbeatTimeoutMs,
      },
    },
  };
}

const MIB = 1024 * 1024;

/** The S3 settings when STORAGE_DRIVER is s3 (all of them required then), else undefined. */
function s3Settings(env: Env): S3Settings | undefined {
  if (read(env, 'STORAGE_DRIVER') !== 's3') return undefined;
  const need = (name: EnvName) => {
    const value = read(env, name);
    if (!value) throw new ConfigError(`${name} is required when STORAGE_DRIVER is s3`);
    return value;
  };
  need('S3_ENDPOINT');
  return {
    endpoint: httpUrl(env, 'S3_ENDPOINT'),
    region: read(env, 'S3_REGION'),
    bucket: need('S3_BUCKET'),
    accessKeyId: need('S3_ACCESS_KEY_ID'),
    secretAccessKey: need('S3_SECRET_ACCESS_KEY'),
    pathStyle: onOff(env, 'S3_PATH_STYLE'),
  };
}

export const READY_CHECK_TIMEOUT_MS = 2 * SECOND;
