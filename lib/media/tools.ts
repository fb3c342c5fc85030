import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import path from 'node:path';
import { shortReason } from './errors.ts';

// The external programs the media library runs, and the one way it runs them: spawned directly
// (no shell, so file names are never interpreted), killed on timeout or abort, output capped.

export const MEDIA_TOOL_NAMES = ['ffmpeg', 'ffprobe', 'pdftoppm', 'pdftotext', 'pdfinfo'] as const;
export type MediaToolName = (typeof MEDIA_TOOL_NAMES)[number];
export type MediaTools = Record<MediaToolName, string>;

const INSTALL_HINT =
  'Install them with `apt-get install ffmpeg poppler-utils` (Debian/Ubuntu), or run `npm test` / `npm start`, ' +
  'which install them on Debian when run as root; FFMPEG_PATH, FFPROBE_PATH and POPPLER_DIR point at other copies.';

type Env = Record<string, string | undefined>;

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The tool's path, or why it was not found. */
function locate(name: MediaToolName, env: Env): { path: string } | { missing: string } {
  const override = name === 'ffmpeg' ? 'FFMPEG_PATH' : name === 'ffprobe' ? 'FFPROBE_PATH' : 'POPPLER_DIR';
  const configured = env[override];
  if (configured) {
    const file = override === 'POPPLER_DIR' ? path.join(configured, name) : configured;
    return isExecutableFile(file)
      ? { path: file }
      : { missing: `${name} (${override}=${configured}: ${file} is not an executable file)` };
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, name);
    if (isExecutableFile(file)) return { path: file };
  }
  return { missing: `${name} (not on PATH)` };
}

/** Looks the tools up now (env is read at every call) and throws one error naming every missing one. */
export function assertMediaTools(env: Env = process.env): MediaTools {
  const found: Partial<MediaTools> = {};
  const missing: string[] = [];
  for (const name of MEDIA_TOOL_NAMES) {
    const hit = locate(name, env);
    if ('path' in hit) found[name] = hit.path;
    else missing.push(hit.missing);
  }
  if (missing.length > 0) throw new Error(`Media tools are missing: ${missing.join(', ')}. ${INSTALL_HINT}`);
  return found as MediaTools;
}

let cached: MediaTools | undefined;
/** The tools, looked up once per process; a failed lookup is not cached, so installing them later works. */
export function mediaTools(): MediaTools {
  cached ??= assertMediaTools();
  return cached;
}

export interface RunOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** stdout beyond this kills the child (default 64 MiB). */
  maxOutputBytes?: number;
  /** Sees stdout as it arrives (progress lines); it is still collected. */
  onStdout?: (chunk: Buffer) => void;
}

export interface RunResult {
  stdout: Buffer;
  /** The last 8 KiB. */
  stderr: string;
}

/** `exit`: the tool refused (about the input); `killed`: a signal from elsewhere (e.g. the OOM killer). */
export type ToolFailure = 'exit' | 'killed' | 'timeout' | 'output_limit';

/** A tool that failed, timed out or wrote too much; `stderr` is the last ~500 characters. */
export class ToolError extends Error {
  readonly tool: string;
  readonly failure: ToolFailure;
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(tool: string, failure: ToolFailure, exitCode: number | null, stderr: string, message: string) {
    super(message);
    this.name = 'ToolError';
    this.tool = tool;
    this.failure = failure;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

const STDERR_KEPT = 8 * 1024;
const STDERR_IN_ERROR = 500;

/**
 * Runs `cmd args` and resolves with its output when it exits 0. Rejects with a ToolError otherwise;
 * with the signal's reason when aborted (as fetch does), so cancellation stays cancellation.
 */
export function run(cmd: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const { timeoutMs, signal, maxOutputBytes = 64 * 1024 * 1024, onStdout } = opts;
  const tool = path.basename(cmd);
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let outBytes = 0;
    let stderr = '';
    let stopped: ToolFailure | 'aborted' | undefined;
    let settled = false;

    const stop = (why: NonNullable<typeof stopped>) => {
      stopped ??= why;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => stop('timeout'), timeoutMs);
    const onAbort = () => stop('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      fn();
    };

    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > maxOutputBytes) {
        stop('output_limit');
        return;
      }
      chunks.push(chunk);
      onStdout?.(chunk);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      stderr = (stderr + text).slice(-STDERR_KEPT);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      child.kill('SIGKILL');
      settle(() => reject(new Error(`${tool} could not be started (${err.code ?? err.message}). ${INSTALL_HINT}`)));
    });
    child.on('close', (code, killedBy) => {
      settle(() => {
        const tail = stderr.trim().slice(-STDERR_IN_ERROR);
        if (stopped === 'aborted') reject(signal?.reason);
        else if (stopped === 'timeout')
          reject(new ToolError(tool, 'timeout', code, tail, `${tool} timed out after ${timeoutMs} ms`));
        else if (stopped === 'output_limit')
          reject(new ToolError(tool, 'output_limit', code, tail, `${tool} wrote more than ${maxOutputBytes} bytes`));
        else if (code === null)
          reject(
            new ToolError(tool, 'killed', code, tail, `${tool} was killed by ${killedBy}: ${tail || '(no message)'}`),
          );
        else if (code !== 0)
          reject(
            new ToolError(tool, 'exit', code, tail, `${tool} exited with code ${code}: ${tail || '(no message)'}`),
          );
        else resolve({ stdout: Buffer.concat(chunks), stderr });
      });
    });
  });
}

/** A file as an ffmpeg/ffprobe input: the `file:` protocol, so no name is read as a URL or an option. */
export function ffmpegInput(filePath: string): string {
  return `file:${path.resolve(filePath)}`;
}

/**
 * The short reason when a tool refused its input (exited non-zero): the same input fails the same
 * way again, so callers turn it into a MediaError. Undefined for timeouts, kills and start
 * failures, which may pass and stay retryable.
 */
export function refusalReason(err: unknown, input: string): string | undefined {
  return err instanceof ToolError && err.failure === 'exit' ? shortReason(err.stderr, input) : undefined;
}
