// A MediaError is about the FILE, not the machine: the same bytes fail the same way every time, so
// the ingest never retries it, and its message is shown to the user as the reason.

export const MEDIA_ERROR_CODES = ['empty', 'unsupported', 'corrupt', 'too_large', 'no_content'] as const;
export type MediaErrorCode = (typeof MEDIA_ERROR_CODES)[number];

export class MediaError extends Error {
  readonly code: MediaErrorCode;

  constructor(code: MediaErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MediaError';
    this.code = code;
  }
}

export function isMediaError(err: unknown): err is MediaError {
  return err instanceof MediaError;
}

/** "the JPEG is truncated or corrupt: premature end of JPEG image". */
export function corruptFile(label: string, reason: string, cause?: unknown): MediaError {
  return new MediaError('corrupt', `the ${label} is truncated or corrupt: ${reason}`, { cause });
}

/** "the image is 100000×100000 (10000 MP); the limit is 100 MP". */
export function tooManyPixels(what: string, width: number, height: number, maxPixels: number): MediaError {
  const mp = (n: number) => `${Math.round(n / 1e5) / 10} MP`;
  return new MediaError(
    'too_large',
    `the ${what} is ${width}×${height} (${mp(width * height)}); the limit is ${mp(maxPixels)}`,
  );
}

export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * A tool's or decoder's complaint cut to a short line for users: without the server's file path or
 * ffmpeg's "[mov,mp4 @ 0x55…]" prefixes, repeated lines joined.
 */
export function shortReason(message: string, filePath?: string): string {
  const lines = withoutControlChars(message)
    .split('\n')
    .map((l) => (filePath ? l.replaceAll(`${filePath}: `, '').replaceAll(filePath, 'the file') : l))
    .map((l) => l.replace(/\[[^\]]* @ 0x[0-9a-f]+\]\s*/g, '').trim())
    .filter(Boolean);
  const text = [...new Set(lines)].join('; ') || 'unknown error';
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/**
 * Text without the C0 control characters other than tab, newline and form feed (pdfPageTexts
 * splits pages on it), and without DEL; CR, CRLF and vertical tab become newlines. Text from files comes with
 * such characters (pdftotext writes U+0000 for glyphs a broken ToUnicode map sends there), and
 * PostgreSQL refuses U+0000 in text and jsonb, failing the whole row.
 */
export function withoutControlChars(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  return text.replace(/\r\n?|\v/g, '\n').replace(/[\x00-\x08\x0b\x0e-\x1f\x7f]/g, '');
}
