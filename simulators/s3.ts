import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import aws4 from 'aws4';
import { type Clock, KEY_ONLY_POLICY, PlatformSim, type SimReply, type SimRequest } from './core.ts';

// An S3-compatible object store (path-style: /s3/<bucket>/<key>) for the `s3` storage driver:
// PutObject, GetObject (with a single Range), HeadObject, DeleteObject, ListObjectsV2, DeleteObjects
// and CreateBucket, with S3's XML bodies and error codes. Every request must carry a SigV4
// Authorization header from the one configured key pair, and the signature is verified. Objects
// live in memory. Simulator-only: GET /s3/_sim/objects lists what is stored (never the bytes).
// Knobs (PATCH /_admin/s3/knobs) for servers that do not honour ranges: `ignoreRange` (non-zero:
// a ranged GET gets 200 and the whole object, as a server may answer) and `rangeMaxBytes`
// (non-zero: a 206 carries at most that many bytes from the requested start, with the
// Content-Range saying so).

export const S3_SIM_ACCESS_KEY = 'sim-access-key';
export const S3_SIM_SECRET_KEY = 'sim-secret-key';
/** The bucket that exists after a reset; tests may create more with PUT /s3/<bucket>. */
export const S3_SIM_BUCKET = 'switchboard';

interface StoredObject {
  bytes: Buffer;
  contentType: string;
  etag: string;
  lastModified: number;
}

const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';
const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const xmlEscape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
const xmlUnescape = (text: string) =>
  text.replace(/&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(amp|lt|gt|quot|apos));/g, (_, hex, dec, name) =>
    hex
      ? String.fromCodePoint(Number.parseInt(hex, 16))
      : dec
        ? String.fromCodePoint(Number(dec))
        : ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[name]!,
  );
const element = (name: string, value: string | number | boolean) => `<${name}>${xmlEscape(String(value))}</${name}>`;
const xml = (status: number, body: string, headers: Record<string, string> = {}): SimReply => ({
  status,
  body: XML_HEAD + body,
  headers: { 'content-type': 'application/xml', ...headers },
});

/** S3's error body; HEAD answers carry none, so the code travels in a header there as well. */
function s3Error(status: number, code: string, message: string, extra: Record<string, string> = {}): SimReply {
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  const fields = Object.entries(extra)
    .map(([k, v]) => element(k, v))
    .join('');
  return xml(
    status,
    `<Error>${element('Code', code)}${element('Message', message)}${fields}${element('RequestId', requestId)}</Error>`,
    { 'x-amz-request-id': requestId, 'x-amz-error-code': code },
  );
}

const noSuchBucket = (bucket: string) =>
  s3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });

const header = (req: SimRequest, name: string) => {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
};

/** The raw path and query as the client signed them: the simulator's prefix is part of the path. */
const signedPath = (req: SimRequest) => {
  const query = req.query.toString();
  return `/s3${req.path}${query ? `?${query}` : ''}`;
};

export function createS3Sim(clock: Clock): { sim: PlatformSim; seed(): void } {
  const sim = new PlatformSim(clock, {
    id: 's3',
    // S3 has no OAuth: the access key pair stands in for the client credentials.
    clientId: S3_SIM_ACCESS_KEY,
    clientSecret: S3_SIM_SECRET_KEY,
    policy: KEY_ONLY_POLICY,
    tokenPrefix: { access: 'sim-s3-', refresh: 'sim-s3-refresh-' },
    throttle: (_s, retryAfterS) => {
      const error = s3Error(503, 'SlowDown', 'Please reduce your request rate.');
      return { ...error, headers: { ...error.headers, 'retry-after': String(retryAfterS) } };
    },
    serverError: (_s, status) =>
      status === 503
        ? s3Error(503, 'ServiceUnavailable', 'Service is unable to handle request.')
        : s3Error(status, 'InternalError', 'We encountered an internal error. Please try again.'),
  });
  const buckets = new Map<string, Map<string, StoredObject>>();

  /** SigV4: a known access key, and the signature recomputed over the headers the client signed. */
  function authProblem(req: SimRequest): SimReply | undefined {
    const auth = header(req, 'authorization') ?? '';
    const m =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
        auth,
      );
    if (!m) return s3Error(403, 'AccessDenied', 'Access Denied');
    const [, accessKey, , region, signedHeaders, signature] = m as unknown as string[];
    if (!sim.checkClient(accessKey)) {
      return s3Error(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', {
        AWSAccessKeyId: accessKey!,
      });
    }
    const payloadHash = header(req, 'x-amz-content-sha256');
    if (!payloadHash)
      return s3Error(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
    const names = signedHeaders!.split(';');
    if (!names.includes('host') || !names.includes('x-amz-date')) {
      return s3Error(403, 'AccessDenied', 'SignedHeaders must include host and x-amz-date');
    }
    const expected = aws4.sign(
      {
        method: req.method,
        path: signedPath(req),
        service: 's3',
        region,
        headers: Object.fromEntries(names.map((name) => [name, header(req, name) ?? ''])),
      },
      { accessKeyId: accessKey, secretAccessKey: sim.opts.clientSecret },
    ).headers?.Authorization as string;
    const given = Buffer.from(signature!);
    const wanted = Buffer.from(/Signature=([0-9a-f]{64})$/.exec(expected)?.[1] ?? '');
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
      return s3Error(
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      );
    }
    if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== createHash('sha256').update(req.bytes).digest('hex')) {
      return s3Error(
        400,
        'XAmzContentSHA256Mismatch',
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
      );
    }
    return undefined;
  }

  /** An authenticated S3 route; `bucket` and `key` come from the path, percent-decoded. */
  function api(
    method: string,
    path: RegExp,
    name: string,
    handler: (req: SimRequest, bucket: string, key: string) => SimReply,
  ): void {
    sim.route(method, path, name, (req) => {
      const problem = authProblem(req);
      if (problem) return problem;
      const bucket = decodeURIComponent(req.params.bucket ?? '');
      const key = (req.params.key ?? '').split('/').map(decodeURIComponent).join('/');
      return handler(req, bucket, key);
    });
  }

  // Simulator-only, before the S3 routes ("_sim" is no valid bucket name): what is stored.
  sim.route('GET', '/_sim/objects', 'sim_objects', (req) => {
    const bucket = req.query.get('bucket');
    const prefix = req.query.get('prefix') ?? '';
    return {
      status: 200,
      body: [...buckets]
        .filter(([name]) => !bucket || name === bucket)
        .flatMap(([name, objects]) =>
          [...objects]
            .filter(([key]) => key.startsWith(prefix))
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([key, o]) => ({
              bucket: name,
              key,
              sizeBytes: o.bytes.length,
              contentType: o.contentType,
              sha256: createHash('sha256').update(o.bytes).digest('hex'),
              lastModified: new Date(o.lastModified).toISOString(),
            })),
        ),
    };
  });

  const BUCKET = /^\/(?<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/?$/;
  const OBJECT = /^\/(?<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(?<key>.+)$/;

  api('PUT', BUCKET, 'create_bucket', (_req, bucket) => {
    if (buckets.has(bucket)) {
      return s3Error(
        409,
        'BucketAlreadyOwnedByYou',
        'Your previous request to create the named bucket succeeded and you already own it.',
      );
    }
    buckets.set(bucket, new Map());
    return { status: 200, headers: { location: `/${bucket}` } };
  });

  // ListObjectsV2 (keys in UTF-8 byte order, as S3 sorts them).
  api('GET', BUCKET, 'list_objects', (req, bucket) => {
    const objects = buckets.get(bucket);
    if (!objects) return noSuchBucket(bucket);
    if (req.query.get('list-type') !== '2') return s3Error(501, 'NotImplemented', 'Only ListObjectsV2 is simulated');
    if (req.query.has('delimiter')) return s3Error(501, 'NotImplemented', 'delimiter is not simulated');
    const prefix = req.query.get('prefix') ?? '';
    const rawMax = req.query.get('max-keys');
    const maxKeys = rawMax === null ? 1000 : Number(rawMax);
    if (!Number.isInteger(maxKeys) || maxKeys < 0) {
      return s3Error(400, 'InvalidArgument', 'Provided max-keys not an integer or within integer range');
    }
    const token = req.query.get('continuation-token');
    const after = token === null ? '' : Buffer.from(token, 'base64url').toString('utf8');
    const keys = [...objects.keys()]
      .filter((k) => k.startsWith(prefix) && k > after)
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const page = keys.slice(0, Math.min(maxKeys, 1000));
    const truncated = keys.length > page.length;
    const contents = page
      .map((key) => {
        const o = objects.get(key)!;
        return `<Contents>${element('Key', key)}${element('LastModified', new Date(o.lastModified).toISOString())}${element('ETag', o.etag)}${element('Size', o.bytes.length)}${element('StorageClass', 'STANDARD')}</Contents>`;
      })
      .join('');
    return xml(
      200,
      `<ListBucketResult xmlns="${XMLNS}">${element('Name', bucket)}${element('Prefix', prefix)}${element('KeyCount', page.length)}${element('MaxKeys', maxKeys)}${element('IsTruncated', truncated)}${token === null ? '' : element('ContinuationToken', token)}${truncated ? element('NextContinuationToken', Buffer.from(page.at(-1)!).toString('base64url')) : ''}${contents}</ListBucketResult>`,
    );
  });

  // DeleteObjects: POST /<bucket>?delete with a Content-MD5-checked XML list of at most 1000 keys.
  api('POST', BUCKET, 'delete_objects', (req, bucket) => {
    const objects = buckets.get(bucket);
    if (!objects) return noSuchBucket(bucket);
    if (!req.query.has('delete')) return s3Error(501, 'NotImplemented', 'Only DeleteObjects is simulated on POST');
    const md5 = header(req, 'content-md5');
    if (!md5) return s3Error(400, 'InvalidRequest', 'Missing required header for this request: Content-MD5');
    if (md5 !== createHash('md5').update(req.bytes).digest('base64')) {
      return s3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
    }
    const body = req.rawBody;
    const keys = [...body.matchAll(/<Object>[\s\S]*?<Key>([\s\S]*?)<\/Key>[\s\S]*?<\/Object>/g)].map((m) =>
      xmlUnescape(m[1]!),
    );
    if (!/<Delete[\s>]/.test(body) || keys.length === 0 || keys.length > 1000) {
      return s3Error(
        400,
        'MalformedXML',
        'The XML you provided was not well-formed or did not validate against our published schema',
      );
    }
    const quiet = /<Quiet>\s*true\s*<\/Quiet>/.test(body);
    // A missing key counts as deleted, as in S3.
    for (const key of keys) objects.delete(key);
    const deleted = quiet ? '' : keys.map((k) => `<Deleted>${element('Key', k)}</Deleted>`).join('');
    return xml(200, `<DeleteResult xmlns="${XMLNS}">${deleted}</DeleteResult>`);
  });

  api('PUT', OBJECT, 'put_object', (req, bucket, key) => {
    const objects = buckets.get(bucket);
    if (!objects) return noSuchBucket(bucket);
    if (header(req, 'content-length') === undefined) {
      return s3Error(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
    }
    const etag = `"${createHash('md5').update(req.bytes).digest('hex')}"`;
    objects.set(key, {
      bytes: req.bytes,
      contentType: header(req, 'content-type') ?? 'binary/octet-stream',
      etag,
      lastModified: clock.now(),
    });
    return { status: 200, headers: { etag } };
  });

  /** Object headers of GET and HEAD. */
  const objectHeaders = (o: StoredObject) => ({
    'content-type': o.contentType,
    etag: o.etag,
    'last-modified': new Date(o.lastModified).toUTCString(),
    'accept-ranges': 'bytes',
  });

  api('HEAD', OBJECT, 'head_object', (_req, bucket, key): SimReply => {
    const o = buckets.get(bucket)?.get(key);
    if (!o) return { status: 404, headers: { 'x-amz-error-code': buckets.has(bucket) ? 'NoSuchKey' : 'NoSuchBucket' } };
    return { status: 200, headers: { ...objectHeaders(o), 'content-length': String(o.bytes.length) } };
  });

  // A single range (bytes=a-b, a-, -n); S3 answers anything else with the whole object.
  api('GET', OBJECT, 'get_object', (req, bucket, key) => {
    const objects = buckets.get(bucket);
    if (!objects) return noSuchBucket(bucket);
    const o = objects.get(key);
    if (!o) return s3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
    const size = o.bytes.length;
    const range = /^bytes=(\d*)-(\d*)$/.exec(header(req, 'range') ?? '');
    if (!range || (range[1] === '' && range[2] === '') || sim.knobs.ignoreRange) {
      return { status: 200, body: o.bytes, headers: { ...objectHeaders(o), 'content-length': String(size) } };
    }
    const [start, asked] =
      range[1] === ''
        ? [Math.max(0, size - Number(range[2])), size - 1]
        : [Number(range[1]), Math.min(Number(range[2] || size - 1), size - 1)];
    const cap = sim.knobs.rangeMaxBytes ?? 0;
    const end = cap > 0 ? Math.min(asked, start + cap - 1) : asked;
    if (start >= size || end < start) {
      const error = s3Error(416, 'InvalidRange', 'The requested range is not satisfiable', {
        RangeRequested: header(req, 'range')!,
        ActualObjectSize: String(size),
      });
      return { ...error, headers: { ...error.headers, 'content-range': `bytes */${size}` } };
    }
    return {
      status: 206,
      body: o.bytes.subarray(start, end + 1),
      headers: {
        ...objectHeaders(o),
        'content-length': String(end - start + 1),
        'content-range': `bytes ${start}-${end}/${size}`,
      },
    };
  });

  // S3 answers 204 whether or not the key existed.
  api('DELETE', OBJECT, 'delete_object', (_req, bucket, key) => {
    const objects = buckets.get(bucket);
    if (!objects) return noSuchBucket(bucket);
    objects.delete(key);
    return { status: 204 };
  });

  const seed = () => {
    sim.knobs.ignoreRange = 0;
    sim.knobs.rangeMaxBytes = 0;
    buckets.clear();
    buckets.set(S3_SIM_BUCKET, new Map());
  };
  return { sim, seed };
}
