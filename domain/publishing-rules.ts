import { LINKEDIN_VISIBILITIES } from '../platforms/linkedin.ts';
import { MAX_UPLOAD_BYTES } from '../platforms/media.ts';
import type { MediaRef, PlatformId } from '../platforms/types.ts';
import { X_REPLY_SETTINGS } from '../platforms/x.ts';
import { DAY, MINUTE } from './policy.ts';

// What each platform accepts, checked before anything is scheduled, so a post that cannot go out is
// refused at the API with the rule it breaks instead of failing at its due time. Pure: no I/O, no
// clock (callers pass `now`). Sources: /work/shared/reference/platforms.md (publishing sections) and
// the platforms' own limits pages; rule ids are `<platform>.<rule>` and stable (clients match them).

export interface Violation {
  /** Stable id, e.g. `x.text_length`. */
  rule: string;
  /** Where, e.g. `variants[0].caption`. */
  field: string;
  message: string;
}

/** What one variant publishes (a PostVariant's caption, media and options). */
export interface VariantContent {
  caption: string;
  media: MediaRef[];
  options?: Record<string, unknown>;
}

const MB = 1024 * 1024;
const GB = 1024 * MB;

// ---------------------------------------------------------------------------------------------
// Text length

/** Unicode code points, so an emoji is one character, not two UTF-16 units. */
export const codePoints = (text: string) => [...text].length;

// X's weighting (twitter-text v3 configuration): code points in these ranges weigh 1, everything
// else (CJK, most emoji) weighs 2; an emoji sequence counts as one emoji; every http(s) URL counts as
// 23 whatever its length (t.co wrapping); the text is NFC-normalised first. Limit: 280.
const X_LIGHT_RANGES: readonly [number, number][] = [
  [0, 4351],
  [8192, 8205],
  [8208, 8223],
  [8242, 8247],
];
const X_URL_WEIGHT = 23;
// Trailing punctuation is not part of the URL ("see https://a.example.").
const URL_PATTERN = /https?:\/\/[^\s<>"]*[^\s<>".,;:!?)'"]/giu;
const EMOJI_PATTERN = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u;
const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });

const xCodePointWeight = (cp: number) => (X_LIGHT_RANGES.some(([lo, hi]) => cp >= lo && cp <= hi) ? 1 : 2);

function xWeight(text: string): number {
  let length = 0;
  for (const { segment } of segmenter.segment(text)) {
    if (EMOJI_PATTERN.test(segment)) length += 2;
    else for (const ch of segment) length += xCodePointWeight(ch.codePointAt(0)!);
  }
  return length;
}

/** The length X counts for a post's text. */
export function xWeightedLength(text: string): number {
  const normalised = text.normalize('NFC');
  let length = 0;
  let last = 0;
  for (const match of normalised.matchAll(URL_PATTERN)) {
    length += xWeight(normalised.slice(last, match.index)) + X_URL_WEIGHT;
    last = match.index + match[0].length;
  }
  return length + xWeight(normalised.slice(last));
}

const HASHTAG_PATTERN = /(?:^|[^\p{L}\p{N}_&#/])#[\p{L}\p{N}_]*\p{L}[\p{L}\p{N}_]*/gu;
export const hashtagCount = (text: string) => [...text.matchAll(HASHTAG_PATTERN)].length;

// ---------------------------------------------------------------------------------------------
// Option enums

export const YOUTUBE_PRIVACY = ['public', 'unlisted', 'private'] as const;
export const INSTAGRAM_MEDIA_TYPES = ['FEED', 'REELS', 'STORIES'] as const;
export const TIKTOK_PRIVACY = [
  'PUBLIC_TO_EVERYONE',
  'MUTUAL_FOLLOW_FRIENDS',
  'FOLLOWER_OF_CREATOR',
  'SELF_ONLY',
] as const;

// ---------------------------------------------------------------------------------------------
// Checks

type Push = (rule: string, field: string, message: string) => void;

interface Ctx {
  platform: PlatformId;
  v: Required<VariantContent>;
  /** `variants[0]` → `variants[0].caption`. */
  at: (sub: string) => string;
  push: Push;
}

const isAbsent = (value: unknown) => value === undefined || value === null;
const mb = (bytes: number) => `${Math.round((bytes / MB) * 10) / 10} MB`;
const isGif = (m: MediaRef) => m.kind === 'image' && m.mimeType.toLowerCase() === 'image/gif';

function maxText(c: Ctx, rule: string, limit: number, text = c.v.caption, field = 'caption', count = codePoints) {
  const length = count(text);
  if (length > limit) {
    c.push(rule, c.at(field), `${field} is ${length} characters; ${c.platform} allows at most ${limit}`);
  }
}

/** Text-only posts are fine where the platform allows them, but a post must say or show something. */
function textOrMedia(c: Ctx, extraContent = false) {
  if (c.v.media.length === 0 && c.v.caption.trim() === '' && !extraContent) {
    c.push(`${c.platform}.text_required`, c.at('caption'), 'caption must not be empty when there is no media');
  }
}

function enumOption(c: Ctx, rule: string, name: string, allowed: readonly string[], required = false) {
  const value = c.v.options[name];
  if (isAbsent(value)) {
    if (required) c.push(rule, c.at(`options.${name}`), `options.${name} is required: one of ${allowed.join(', ')}`);
    return;
  }
  if (typeof value !== 'string' || !allowed.includes(value)) {
    c.push(rule, c.at(`options.${name}`), `options.${name} must be one of ${allowed.join(', ')}`);
  }
}

/** Media kinds the platform cannot take at all (documents everywhere but LinkedIn). */
function onlyKinds(c: Ctx, kinds: readonly MediaRef['kind'][]) {
  c.v.media.forEach((m, i) => {
    if (!kinds.includes(m.kind)) {
      c.push(`${c.platform}.media_kind`, c.at(`media[${i}].kind`), `${c.platform} does not take ${m.kind} media`);
    }
  });
}

function maxSize(c: Ctx, rule: string, which: (m: MediaRef) => boolean, limit: number, what: string) {
  c.v.media.forEach((m, i) => {
    if (which(m) && m.sizeBytes > limit) {
      c.push(rule, c.at(`media[${i}].sizeBytes`), `${what} is ${mb(m.sizeBytes)}; ${c.platform} allows ${mb(limit)}`);
    }
  });
}

/** Files we upload ourselves are read whole by the worker: the platform's limit or ours, the smaller. */
const uploadable = (platformLimit: number) => Math.min(platformLimit, MAX_UPLOAD_BYTES);

const count = (media: MediaRef[], which: (m: MediaRef) => boolean) => media.filter(which).length;

const PLATFORM_CHECKS: Record<PlatformId, (c: Ctx) => void> = {
  instagram(c) {
    const { media, caption } = c.v;
    maxText(c, 'instagram.text_length', 2200);
    const tags = hashtagCount(caption);
    if (tags > 30) c.push('instagram.hashtags', c.at('caption'), `caption has ${tags} hashtags; Instagram allows 30`);
    enumOption(c, 'instagram.media_type', 'mediaType', INSTAGRAM_MEDIA_TYPES);
    const mediaType = (c.v.options.mediaType as string | undefined | null) ?? 'FEED';
    if (media.length === 0) {
      c.push('instagram.media_required', c.at('media'), 'Instagram posts need at least one image or video');
      return;
    }
    onlyKinds(c, ['image', 'video']);
    media.forEach((m, i) => {
      if (m.kind === 'image' && m.mimeType.toLowerCase() !== 'image/jpeg') {
        c.push('instagram.image_type', c.at(`media[${i}].mimeType`), 'Instagram takes JPEG images only');
      }
      if (m.kind === 'video' && m.durationS !== undefined && m.durationS > 15 * 60) {
        c.push(
          'instagram.video_duration',
          c.at(`media[${i}].durationS`),
          'Instagram videos (reels) may last 15 minutes',
        );
      }
    });
    maxSize(c, 'instagram.image_size', (m) => m.kind === 'image', 8 * MB, 'image');
    maxSize(c, 'instagram.video_size', (m) => m.kind === 'video', 300 * MB, 'video');
    if (mediaType === 'REELS' && (media.length !== 1 || media[0]!.kind !== 'video')) {
      c.push('instagram.reels_media', c.at('media'), 'a reel needs exactly one video');
    } else if (mediaType === 'STORIES' && media.length !== 1) {
      c.push('instagram.stories_media', c.at('media'), 'a story needs exactly one image or video');
    } else if (media.length > 10) {
      c.push('instagram.media_count', c.at('media'), `${media.length} items; an Instagram carousel takes 1 to 10`);
    }
  },

  threads(c) {
    maxText(c, 'threads.text_length', 500);
    textOrMedia(c);
    onlyKinds(c, ['image', 'video']);
    if (c.v.media.length > 20) {
      c.push('threads.media_count', c.at('media'), `${c.v.media.length} items; a Threads carousel takes up to 20`);
    }
  },

  facebook(c) {
    const { media } = c.v;
    maxText(c, 'facebook.text_length', 63206);
    const link = c.v.options.link;
    if (!isAbsent(link) && !(typeof link === 'string' && isHttpUrl(link))) {
      c.push('facebook.link', c.at('options.link'), 'options.link must be an http(s) URL');
    }
    // A link post needs no text of its own: Facebook shows the link's preview.
    textOrMedia(c, typeof link === 'string' && isHttpUrl(link));
    onlyKinds(c, ['image', 'video']);
    const videos = count(media, (m) => m.kind === 'video');
    const images = count(media, (m) => m.kind === 'image');
    if (videos > 0 && (videos > 1 || images > 0)) {
      c.push('facebook.media_mix', c.at('media'), 'a Facebook post takes up to 10 photos or one video, not both');
    } else if (images > 10) {
      c.push('facebook.media_count', c.at('media'), `${images} photos; a Facebook post takes up to 10`);
    }
  },

  linkedin(c) {
    const { media } = c.v;
    maxText(c, 'linkedin.text_length', 3000);
    textOrMedia(c);
    enumOption(c, 'linkedin.visibility', 'visibility', LINKEDIN_VISIBILITIES);
    const images = count(media, (m) => m.kind === 'image');
    const videos = count(media, (m) => m.kind === 'video');
    const documents = count(media, (m) => m.kind === 'document');
    if ([images > 0, videos > 0, documents > 0].filter(Boolean).length > 1 || videos > 1 || documents > 1) {
      c.push(
        'linkedin.media_mix',
        c.at('media'),
        'a LinkedIn post takes up to 20 images, or one video, or one document, not a mix',
      );
    } else if (images > 20) {
      c.push('linkedin.media_count', c.at('media'), `${images} images; a LinkedIn post takes up to 20`);
    }
    media.forEach((m, i) => {
      if (m.kind === 'document' && m.mimeType.toLowerCase() !== 'application/pdf') {
        c.push('linkedin.document_type', c.at(`media[${i}].mimeType`), 'LinkedIn documents must be PDF');
      }
    });
    maxSize(c, 'linkedin.video_size', (m) => m.kind === 'video', uploadable(5 * GB), 'video');
    maxSize(c, 'linkedin.document_size', (m) => m.kind === 'document', 100 * MB, 'document');
  },

  x(c) {
    const { media } = c.v;
    maxText(c, 'x.text_length', 280, c.v.caption, 'caption', xWeightedLength);
    textOrMedia(c);
    enumOption(c, 'x.reply_settings', 'replySettings', X_REPLY_SETTINGS);
    onlyKinds(c, ['image', 'video']);
    const gifs = count(media, isGif);
    const images = count(media, (m) => m.kind === 'image' && !isGif(m));
    const videos = count(media, (m) => m.kind === 'video');
    if ([images > 0, videos > 0, gifs > 0].filter(Boolean).length > 1 || videos > 1 || gifs > 1) {
      c.push('x.media_mix', c.at('media'), 'an X post takes up to 4 images, or one video, or one GIF, not a mix');
    } else if (images > 4) {
      c.push('x.media_count', c.at('media'), `${images} images; an X post takes up to 4`);
    }
    maxSize(c, 'x.image_size', (m) => m.kind === 'image' && !isGif(m), 5 * MB, 'image');
    maxSize(c, 'x.gif_size', isGif, 15 * MB, 'GIF');
    maxSize(c, 'x.video_size', (m) => m.kind === 'video', 512 * MB, 'video');
  },

  youtube(c) {
    const { media, options } = c.v;
    const title = options.title;
    if (isAbsent(title) || (typeof title === 'string' && title.trim() === '')) {
      c.push('youtube.title_required', c.at('options.title'), 'YouTube videos need options.title');
    } else if (typeof title !== 'string') {
      c.push('youtube.title_required', c.at('options.title'), 'options.title must be text');
    } else {
      maxText(c, 'youtube.title_length', 100, title, 'options.title');
      if (/[<>]/.test(title)) {
        c.push('youtube.title_chars', c.at('options.title'), "options.title must not contain '<' or '>'");
      }
    }
    maxText(c, 'youtube.description_length', 5000);
    enumOption(c, 'youtube.privacy_status', 'privacyStatus', YOUTUBE_PRIVACY);
    if (media.length !== 1 || media[0]!.kind !== 'video') {
      c.push('youtube.media_count', c.at('media'), 'a YouTube upload needs exactly one video');
    }
    maxSize(c, 'youtube.video_size', (m) => m.kind === 'video', uploadable(256 * GB), 'video');
  },

  tiktok(c) {
    const { media } = c.v;
    maxText(c, 'tiktok.text_length', 2200);
    enumOption(c, 'tiktok.privacy_level', 'privacyLevel', TIKTOK_PRIVACY, true);
    if (media.length === 0) {
      c.push('tiktok.media_required', c.at('media'), 'a TikTok post needs one video');
      return;
    }
    // Photo posts commit at init, so a lost answer could not be checked: only videos are published.
    onlyKinds(c, ['video']);
    if (media.length > 1) {
      c.push('tiktok.media_count', c.at('media'), `${media.length} files; a TikTok post takes one video`);
    }
    media.forEach((m, i) => {
      if (m.kind === 'video' && !TIKTOK_VIDEO_TYPES.includes(m.mimeType.toLowerCase())) {
        c.push('tiktok.video_type', c.at(`media[${i}].mimeType`), 'TikTok takes MP4, WebM or MOV videos');
      }
    });
    maxSize(c, 'tiktok.video_size', (m) => m.kind === 'video', uploadable(4 * GB), 'video');
  },

  whatsapp(c) {
    c.push('whatsapp.no_feed', c.at(''), WHATSAPP_MESSAGE);
  },
};

const TIKTOK_VIDEO_TYPES = ['video/mp4', 'video/webm', 'video/quicktime'];
const WHATSAPP_MESSAGE = 'WhatsApp has no feed to publish to; it sends messages, not posts';

export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/**
 * Everything wrong with `variant` for `platform`, or nothing. `prefix` names the variant in the
 * caller's terms (`variants[0]`); each violation's field is under it.
 */
export function validateVariant(platform: PlatformId, variant: VariantContent, prefix = 'variant'): Violation[] {
  const out: Violation[] = [];
  const ctx: Ctx = {
    platform,
    v: { caption: variant.caption ?? '', media: variant.media ?? [], options: variant.options ?? {} },
    at: (sub) => (sub ? `${prefix}.${sub}` : prefix),
    push: (rule, field, message) => out.push({ rule, field, message }),
  };
  PLATFORM_CHECKS[platform](ctx);
  return out;
}

/** Whether a target on a `platform` connection can exist at all (WhatsApp has no feed). */
export function validateTargetPlatform(platform: PlatformId, field: string): Violation | undefined {
  return platform === 'whatsapp' ? { rule: 'whatsapp.no_feed', field, message: WHATSAPP_MESSAGE } : undefined;
}

/** The variant a target publishes: its platform's own, else the post's `default`. */
export function effectiveVariant<V extends { platform: string }>(variants: readonly V[], platform: PlatformId) {
  return variants.find((v) => v.platform === platform) ?? variants.find((v) => v.platform === 'default');
}

// ---------------------------------------------------------------------------------------------
// Publish caps

export interface PublishCap {
  /** Posts allowed per connection (one account) in any window of `windowMs`. */
  limit: number;
  windowMs: number;
}

/**
 * Posts per connected account per rolling window. Sources (/work/shared/reference/platforms.md):
 * - instagram: §2.6 `content_publishing_limit`, rolling 24 h; the docs have said 25, 50 and 100 at
 *   different times (changed), so the publish workflow still reads `quota_total` before it commits.
 * - threads: §7.5, 250 posts per rolling 24 h (a carousel counts as one).
 * - x: §6.6, `POST /2/tweets` 100 per 15 min per user.
 * - linkedin: §5.6 says the daily per-member limits (reset 00:00 UTC) are only shown in the developer
 *   portal; 150 per day is the figure we plan with.
 * - youtube: §1.6, 100 `videos.insert` calls per day (the per-method quota bucket).
 * - tiktok: §4.6 `spam_risk_too_many_posts`; TikTok's posting guide gives about 15 posts per creator
 *   per day (not in platforms.md).
 * - facebook: not in platforms.md (§3.6 only gives call-rate limits); 100 per 24 h as a safe bound.
 * "Per day" caps are checked as rolling 24 h windows: any calendar day is such a window, so a plan
 * that passes never exceeds a calendar-day cap either.
 * WhatsApp has no feed (see `whatsapp.no_feed`), so no cap.
 */
export const PUBLISH_CAPS: Readonly<Record<Exclude<PlatformId, 'whatsapp'>, PublishCap>> = {
  instagram: { limit: 50, windowMs: DAY },
  threads: { limit: 250, windowMs: DAY },
  x: { limit: 100, windowMs: 15 * MINUTE },
  linkedin: { limit: 150, windowMs: DAY },
  youtube: { limit: 100, windowMs: DAY },
  tiktok: { limit: 15, windowMs: DAY },
  facebook: { limit: 100, windowMs: DAY },
};

export const publishCap = (platform: PlatformId): PublishCap | undefined =>
  platform === 'whatsapp' ? undefined : PUBLISH_CAPS[platform];

/**
 * Whether one more post fits, given how many posts the connection already has in the busiest
 * rolling window around the due time (see busiestWindowCount).
 */
export function publishCapFits(platform: PlatformId, scheduledInWindow: number): boolean {
  const cap = publishCap(platform);
  return !cap || scheduledInWindow + 1 <= cap.limit;
}

/**
 * The most of `others` that share one window of `windowMs` (half-open, millisecond resolution) with
 * `dueAt`. Windows that could hold the most start at a post, or end just after one, or at the edges
 * around `dueAt`; each is counted.
 */
export function busiestWindowCount(dueAt: Date, others: readonly Date[], windowMs: number): number {
  const t = dueAt.getTime();
  const times = others.map((d) => d.getTime()).filter((x) => x > t - windowMs && x < t + windowMs);
  const starts = new Set<number>([t - windowMs + 1, t]);
  for (const x of times) {
    starts.add(x);
    starts.add(x - windowMs + 1);
  }
  let best = 0;
  for (const s of starts) {
    if (s > t || s + windowMs <= t) continue;
    let n = 0;
    for (const x of times) if (x >= s && x < s + windowMs) n++;
    if (n > best) best = n;
  }
  return best;
}

/** The cap violation of one more post at `dueAt` on a connection that already has `others` planned. */
export function checkPublishCap(
  platform: PlatformId,
  dueAt: Date,
  others: readonly Date[],
  field: string,
): Violation | undefined {
  const cap = publishCap(platform);
  if (!cap) return undefined;
  const busiest = busiestWindowCount(dueAt, others, cap.windowMs);
  if (publishCapFits(platform, busiest)) return undefined;
  const window = cap.windowMs >= DAY ? `${(cap.windowMs / DAY) * 24} h` : `${cap.windowMs / MINUTE} min`;
  return {
    rule: `${platform}.publish_cap`,
    field,
    message: `this account already has ${busiest} posts within ${window} of this time; ${platform} allows ${cap.limit} per ${window}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Due times

/** How far ahead a post may be scheduled. */
export const MAX_SCHEDULE_AHEAD_MS = 365 * DAY;

/**
 * The due time a schedule request means: a time in the past is taken as now (publish at once); more
 * than a year ahead is refused.
 */
export function resolveDueAt(
  requested: Date,
  now: Date,
  field: string,
): { dueAt: Date; violation?: undefined } | { dueAt?: undefined; violation: Violation } {
  if (requested.getTime() - now.getTime() > MAX_SCHEDULE_AHEAD_MS) {
    return {
      violation: { rule: 'schedule.too_far_ahead', field, message: `${field} must be within one year from now` },
    };
  }
  return { dueAt: requested < now ? now : requested };
}
