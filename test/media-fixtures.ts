import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { mediaTools, run } from '../lib/media/tools.ts';

// Media files made on the spot for the media tests and benchmarks: nothing is downloaded or
// checked in. The bad ones are each broken in exactly one way.

export interface Fixtures {
  /** 900×300 PNG, black "SWITCHBOARD" / "QUARTERLY 4217" on white (for OCR). */
  imageWithText: string;
  /** 1600×1200 JPEG: colour gradients and noise, like a photo. */
  photo: string;
  /** 3 s MP3 sine tone. */
  audio: string;
  /** 3 s 320×240 H.264 MP4 with an AAC sine track. */
  video: string;
  /** 3 s 320×240 H.264 MP4 without sound. */
  silentVideo: string;
  /** 3 s AAC tone in a plain MP4 container (it sniffs as video/mp4; the probe says audio). */
  audioInMp4: string;
  /** One US-letter page, Helvetica "Invoice QUARTERLY 4217 Switchboard". */
  pdf: string;
  /**
   * One US-letter page with no text layer, like a scan: a 1200×400 greyscale JPEG (DCTDecode)
   * of "SCANNED" / "QUARTERLY 4217" drawn 540×180 pt near the top.
   */
  scannedPdf: string;
  /**
   * One page of "Invoice QUARTERLY 4217" and three more glyphs that its broken ToUnicode map sends
   * to control characters (two NULs, ESC, BEL), which pdftotext then writes out.
   */
  pdfWithControlChars: string;
  /** The photo's first 40 %. */
  truncatedJpeg: string;
  /** 0 bytes. */
  empty: string;
  /** The text PNG's bytes named clip.mp4. */
  wrongExtension: string;
  /** A few hundred bytes of PNG whose header says 100000×100000. */
  hugeImage: string;
  /** A plain-text file. */
  notMedia: string;
  /** A ZIP archive holding a text file. */
  zip: string;
}

export const FIXTURE_TEXT = {
  image: 'SWITCHBOARD QUARTERLY 4217',
  pdf: 'Invoice QUARTERLY 4217 Switchboard',
  scannedPdf: 'SCANNED QUARTERLY 4217',
  pdfWithControlChars: 'Invoice QUARTERLY 4217',
} as const;

const TIMEOUT_MS = 60_000;

export async function makeFixtures(dir: string): Promise<Fixtures> {
  await mkdir(dir, { recursive: true });
  const at = (name: string) => path.join(dir, name);
  const f: Fixtures = {
    imageWithText: at('text.png'),
    photo: at('photo.jpg'),
    audio: at('tone.mp3'),
    video: at('video.mp4'),
    silentVideo: at('silent.mp4'),
    audioInMp4: at('tone-in.mp4'),
    pdf: at('invoice.pdf'),
    scannedPdf: at('scanned.pdf'),
    pdfWithControlChars: at('control-chars.pdf'),
    truncatedJpeg: at('truncated.jpg'),
    empty: at('empty.jpg'),
    wrongExtension: at('clip.mp4'),
    hugeImage: at('huge.png'),
    notMedia: at('notes.txt'),
    zip: at('archive.zip'),
  };

  const textPng = await textImage(900, 300, 64, FIXTURE_TEXT.image);
  const scan = await textImage(1200, 400, 100, FIXTURE_TEXT.scannedPdf);
  const photo = await photoJpeg(1600, 1200, 1);
  const { ffmpeg } = mediaTools();
  const ff = (args: string[]) => run(ffmpeg, ['-nostdin', '-v', 'error', '-y', ...args], { timeoutMs: TIMEOUT_MS });
  const tone = ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=3'];
  const picture = ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=3'];
  const h264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];

  await Promise.all([
    writeFile(f.imageWithText, textPng),
    writeFile(f.wrongExtension, textPng),
    writeFile(f.photo, photo),
    writeFile(f.truncatedJpeg, photo.subarray(0, Math.floor(photo.length * 0.4))),
    writeFile(f.empty, Buffer.alloc(0)),
    writeFile(f.hugeImage, hugePngHeader(100_000, 100_000)),
    writeFile(f.notMedia, 'Meeting notes\n- ship the media library\n- check the quarterly numbers\n'),
    writeFile(f.zip, storedZip('notes.txt', 'Meeting notes: ship the media library.\n')),
    writeFile(f.pdf, onePagePdf(FIXTURE_TEXT.pdf)),
    scannedPagePdf(scan).then((pdf) => writeFile(f.scannedPdf, pdf)),
    writeFile(f.pdfWithControlChars, controlCharsPdf()),
    ff([...tone, '-c:a', 'libmp3lame', '-b:a', '64k', f.audio]),
    ff([...picture, ...tone, ...h264, '-c:a', 'aac', '-shortest', '-movflags', '+faststart', f.video]),
    ff([...picture, ...h264, f.silentVideo]),
    ff([...tone, '-c:a', 'aac', '-f', 'mp4', f.audioInMp4]),
  ]);
  return f;
}

/** n distinct JPEG photos (different colours and noise) named photo-0001.jpg… */
export async function makePhotos(
  dir: string,
  n: number,
  { width, height }: { width: number; height: number },
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (let i = 1; i <= n; i++) {
    const file = path.join(dir, `photo-${String(i).padStart(4, '0')}.jpg`);
    await writeFile(file, await photoJpeg(width, height, i));
    paths.push(file);
  }
  return paths;
}

/** A PNG of `text` in black bold on white: its first word on one line, the rest on a second. */
async function textImage(width: number, height: number, fontSize: number, text: string): Promise<Buffer> {
  const line = (y: number, words: string) =>
    `<text x="${width / 2}" y="${y}" font-family="DejaVu Sans" font-size="${fontSize}" font-weight="bold" text-anchor="middle" fill="#000">${words}</text>`;
  const [first, ...rest] = text.split(' ');
  // Baselines at 5/12 and 3/4 of the height (125 and 225 of 300).
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="${width}" height="${height}" fill="#fff"/>` +
    `${line((height * 5) / 12, first!)}${line((height * 3) / 4, rest.join(' '))}</svg>`;
  return sharp(Buffer.from(svg)).flatten({ background: '#fff' }).png().toBuffer();
}

/** A photo-like JPEG: smooth colour gradients (seeded) with per-pixel noise, so it compresses like one. */
async function photoJpeg(width: number, height: number, seed: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  let state = (seed * 0x9e3779b9) >>> 0 || 1;
  const hue = (seed * 53) % 256;
  let i = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // xorshift32: cheap, deterministic noise
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      const noise = (state & 31) - 16;
      raw[i++] = clampByte((((x * 255) / width + hue) % 256) + noise);
      raw[i++] = clampByte((y * 255) / height + noise);
      raw[i++] = clampByte(((((x + y) * 255) / (width + height) + 2 * hue) % 256) + noise);
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 85 })
    .toBuffer();
}

const clampByte = (v: number) => Math.max(0, Math.min(255, Math.round(v)));

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([head, typed, crc]);
}

/** A valid PNG header for a huge greyscale image with a token IDAT: tiny on disk, enormous if decoded. */
function hugePngHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit greyscale, deflate, adaptive filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(64))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A one-page PDF with exact xref offsets, using the standard (non-embedded) Helvetica. */
function onePagePdf(text: string): Buffer {
  return pdfFile([
    ...letterPage('/Font << /F1 5 0 R >>'),
    pdfStream('', `BT /F1 24 Tf 72 700 Td (${text}) Tj ET\n`),
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
  ]);
}

/** A one-page PDF that is only a picture: `image` as a JPEG XObject, 540×180 pt near the page's top. */
async function scannedPagePdf(image: Buffer): Promise<Buffer> {
  const jpeg = await sharp(image).greyscale().toColourspace('b-w').jpeg({ quality: 90 }).toBuffer();
  const { width, height, channels } = await sharp(jpeg).metadata();
  return pdfFile([
    ...letterPage('/XObject << /Im1 5 0 R >>'),
    pdfStream('', 'q 540 0 0 180 36 570 cm /Im1 Do Q\n'),
    pdfStream(
      `/Type /XObject /Subtype /Image /Width ${width} /Height ${height} /BitsPerComponent 8 ` +
        `/ColorSpace /${channels === 1 ? 'DeviceGray' : 'DeviceRGB'} /Filter /DCTDecode`,
      jpeg,
    ),
  ]);
}

/**
 * "Invoice^ QUARTERLY~ 4217|" in Helvetica, with a ToUnicode map that sends ^ to two NULs, ~ to
 * ESC and | to BEL (codes it does not map keep their WinAnsi meaning).
 */
function controlCharsPdf(): Buffer {
  const cmap = [
    '/CIDInit /ProcSet findresource begin',
    '12 dict begin',
    'begincmap',
    '/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def',
    '/CMapName /Adobe-Identity-UCS def',
    '/CMapType 2 def',
    '1 begincodespacerange',
    '<00> <FF>',
    'endcodespacerange',
    '3 beginbfchar',
    '<5E> <00000000>',
    '<7E> <001B>',
    '<7C> <0007>',
    'endbfchar',
    'endcmap',
    'CMapName currentdict /CMap defineresource pop',
    'end',
    'end',
    '',
  ].join('\n');
  return pdfFile([
    ...letterPage('/Font << /F1 5 0 R >>'),
    pdfStream('', 'BT /F1 24 Tf 72 700 Td (Invoice^ QUARTERLY~ 4217|) Tj ET\n'),
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding /ToUnicode 6 0 R >>',
    pdfStream('', cmap),
  ]);
}

/** Objects 1–3 of a one-page PDF: catalog, page tree, and a US-letter page drawn by object 4. */
function letterPage(resources: string): string[] {
  return [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << ${resources} >> /Contents 4 0 R >>`,
  ];
}

/** A stream object: `dict` entries besides /Length, then the data as it is. */
function pdfStream(dict: string, data: string | Buffer): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  const head = `<< ${dict ? `${dict} ` : ''}/Length ${body.length} >>\nstream\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body, Buffer.from('\nendstream', 'latin1')]);
}

/** A PDF of `objects` (numbered from 1, the first the catalog) with exact xref offsets. */
function pdfFile(objects: (string | Buffer)[]): Buffer {
  // The comment's bytes above 127 mark the file as binary (it may hold a JPEG).
  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let length = parts[0]!.length;
  const add = (part: string | Buffer) => {
    const bytes = typeof part === 'string' ? Buffer.from(part, 'latin1') : part;
    parts.push(bytes);
    length += bytes.length;
  };
  const offsets = objects.map((body, i) => {
    const offset = length;
    add(`${i + 1} 0 obj\n`);
    add(body);
    add('\nendobj\n');
    return offset;
  });
  const xref = length;
  // Each xref entry is exactly 20 bytes: 10-digit offset, generation, type, space + newline.
  add(`xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`);
  add(offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join(''));
  add(`trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`);
  return Buffer.concat(parts);
}

/** A ZIP with one stored (uncompressed) entry. */
function storedZip(name: string, text: string): Buffer {
  const data = Buffer.from(text);
  const fileName = Buffer.from(name);
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4); // version needed
  local.writeUInt16LE(0x21, 12); // date: 1980-01-01
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(fileName.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4); // version made by
  central.writeUInt16LE(20, 6); // version needed
  central.writeUInt16LE(0x21, 14);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(fileName.length, 28);
  // local header offset (42) is 0: the only entry starts the file
  const centralOffset = local.length + fileName.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + fileName.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, fileName, data, central, fileName, end]);
}
