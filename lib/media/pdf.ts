import path from 'node:path';
import { corruptFile, MediaError, tooManyPixels, withoutControlChars } from './errors.ts';
import { mediaTools, refusalReason, run, ToolError } from './tools.ts';

// PDFs through poppler: pdfinfo for the page count and sizes, pdftotext for the text layer (most
// PDFs have one, and it beats OCR), pdftoppm to render a page for OCR or the preview.

export interface PdfRunOptions {
  /** Per tool run (default 60 s; text of a whole document: 120 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const POINTS_PER_INCH = 72;

export interface PdfInfo {
  pages: number;
  /** Points (1/72 inch), as shown (after the page's /Rotate); absent when pdfinfo gives no size. */
  width?: number;
  height?: number;
}

/** Page count (whatever `page` is), and the size of `page` (default: the first). Cheap: the text is not read. */
export async function pdfInfo(filePath: string, opts: PdfRunOptions & { page?: number } = {}): Promise<PdfInfo> {
  const pageArgs = opts.page === undefined ? [] : ['-f', String(opts.page), '-l', String(opts.page)];
  let text: string;
  try {
    const { stdout } = await run(mediaTools().pdfinfo, [...pageArgs, path.resolve(filePath)], {
      timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      signal: opts.signal,
      maxOutputBytes: 1024 * 1024,
    });
    text = stdout.toString('utf8');
  } catch (err) {
    throw pdfFailure(err, filePath);
  }
  const pages = Number(/^Pages:\s+(\d+)/m.exec(text)?.[1] ?? 0);
  // "Page size: 612 x 792 pts (letter)", or "Page    3 size: …" when a page range is given.
  const size = /^Page\s+(?:\d+\s+)?size:\s+([\d.]+) x ([\d.]+) pts/m.exec(text);
  const rotation = Number(/^Page\s+(?:\d+\s+)?rot:\s+(\d+)/m.exec(text)?.[1] ?? 0);
  if (!size) return { pages };
  const [w, h] = [Math.round(Number(size[1])), Math.round(Number(size[2]))];
  return rotation % 180 === 90 ? { pages, width: h, height: w } : { pages, width: w, height: h };
}

/**
 * The text layer, one trimmed string per page (pdftotext ends every page with a form feed), so
 * its length is the page count. A scanned page gives an empty string: OCR its rendering instead.
 * Control characters are removed (see withoutControlChars): a PDF with unmapped glyphs gives NULs.
 */
export async function pdfPageTexts(
  filePath: string,
  opts: PdfRunOptions & { maxBytes?: number } = {},
): Promise<string[]> {
  const maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
  let text: string;
  try {
    const { stdout } = await run(mediaTools().pdftotext, ['-enc', 'UTF-8', path.resolve(filePath), '-'], {
      timeoutMs: opts.timeoutMs ?? 2 * DEFAULT_TIMEOUT_MS,
      signal: opts.signal,
      maxOutputBytes: maxBytes,
    });
    text = stdout.toString('utf8');
  } catch (err) {
    if (err instanceof ToolError && err.failure === 'output_limit')
      throw new MediaError('too_large', `the PDF's text is longer than ${Math.round(maxBytes / 1024 / 1024)} MB`, {
        cause: err,
      });
    throw pdfFailure(err, filePath);
  }
  const pages = withoutControlChars(text).split('\f');
  if (pages.at(-1) === '') pages.pop();
  return pages.map((page) => page.trim());
}

/**
 * One page (1-based) as a PNG at `dpi`, lowered when the page would have more than `maxPixels`
 * (a poster-sized page at 150 dpi is hundreds of megapixels).
 */
export async function renderPdfPage(
  filePath: string,
  page: number,
  opts: PdfRunOptions & { dpi?: number; maxPixels: number },
): Promise<Buffer> {
  const info = await pdfInfo(filePath, { ...opts, page });
  if (page < 1 || page > info.pages) throw new RangeError(`page ${page} is outside 1..${info.pages}`);
  let dpi = opts.dpi ?? 150;
  if (info.width && info.height) {
    const pixelsAt = (d: number) => ((info.width! * d) / POINTS_PER_INCH) * ((info.height! * d) / POINTS_PER_INCH);
    if (pixelsAt(dpi) > opts.maxPixels) dpi = Math.floor(dpi * Math.sqrt(opts.maxPixels / pixelsAt(dpi)));
    // Below ~10 dpi nothing is legible; such a page is simply too big.
    if (dpi < 10) {
      const side = (pt: number) => Math.round((pt * 150) / POINTS_PER_INCH);
      throw tooManyPixels('PDF page at 150 dpi', side(info.width), side(info.height), opts.maxPixels);
    }
  }
  let png: Buffer;
  try {
    // No output root: pdftoppm writes the one page to stdout.
    ({ stdout: png } = await run(
      mediaTools().pdftoppm,
      ['-png', '-r', String(dpi), '-f', String(page), '-l', String(page), '-singlefile', path.resolve(filePath)],
      { timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, signal: opts.signal, maxOutputBytes: 512 * 1024 * 1024 },
    ));
  } catch (err) {
    throw pdfFailure(err, filePath);
  }
  if (png.length === 0) throw corruptFile('PDF', `page ${page} rendered to nothing`);
  return png;
}

/** A poppler tool's refusal of a PDF as a MediaError; anything else is returned as it is. */
export function pdfFailure(err: unknown, filePath: string): unknown {
  const reason = refusalReason(err, path.resolve(filePath));
  if (reason === undefined) return err;
  if (/incorrect password/i.test(reason))
    return new MediaError('unsupported', 'the PDF is password-protected; upload it without a password', {
      cause: err,
    });
  return corruptFile('PDF', reason, err);
}
