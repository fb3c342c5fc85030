import { describe, expect, it } from 'vitest';
import { DAY, MINUTE } from '../../domain/policy.ts';
import {
  busiestWindowCount,
  checkPublishCap,
  effectiveVariant,
  hashtagCount,
  MAX_SCHEDULE_AHEAD_MS,
  PUBLISH_CAPS,
  publishCapFits,
  resolveDueAt,
  type VariantContent,
  validateTargetPlatform,
  validateVariant,
  xWeightedLength,
} from '../../domain/publishing-rules.ts';
import { MAX_UPLOAD_BYTES } from '../../platforms/media.ts';
import type { MediaRef, PlatformId } from '../../platforms/types.ts';

const MB = 1024 * 1024;

const img = (over: Partial<MediaRef> = {}): MediaRef => ({
  url: 'https://cdn.example/a.jpg',
  kind: 'image',
  mimeType: 'image/jpeg',
  sizeBytes: 100_000,
  ...over,
});
const gif = (over: Partial<MediaRef> = {}) => img({ url: 'https://cdn.example/a.gif', mimeType: 'image/gif', ...over });
const vid = (over: Partial<MediaRef> = {}): MediaRef => ({
  url: 'https://cdn.example/a.mp4',
  kind: 'video',
  mimeType: 'video/mp4',
  sizeBytes: 10 * MB,
  durationS: 30,
  ...over,
});
const pdf = (over: Partial<MediaRef> = {}): MediaRef => ({
  url: 'https://cdn.example/a.pdf',
  kind: 'document',
  mimeType: 'application/pdf',
  sizeBytes: MB,
  ...over,
});
const many = (n: number, make: () => MediaRef) => Array.from({ length: n }, make);

/** A valid variant for each platform; cases change one thing. */
const base: Record<Exclude<PlatformId, 'whatsapp'>, VariantContent> = {
  instagram: { caption: 'Hello', media: [img()], options: {} },
  threads: { caption: 'Hello', media: [], options: {} },
  facebook: { caption: 'Hello', media: [], options: {} },
  linkedin: { caption: 'Hello', media: [], options: {} },
  x: { caption: 'Hello', media: [], options: {} },
  youtube: { caption: 'A description', media: [vid()], options: { title: 'Launch day' } },
  tiktok: { caption: 'Hello', media: [vid()], options: { privacyLevel: 'PUBLIC_TO_EVERYONE' } },
};

type Change = Partial<VariantContent>;
interface Case {
  platform: Exclude<PlatformId, 'whatsapp'>;
  rule: string;
  field: string;
  /** Just inside the rule (must produce no violation at all). */
  ok: Change;
  /** Just outside it. */
  bad: Change;
}

const withOptions = (platform: Case['platform'], options: Record<string, unknown>): Change => ({
  options: { ...base[platform].options, ...options },
});
const tags = (n: number) => Array.from({ length: n }, (_, i) => `#tag${i}`).join(' ');

const cases: Case[] = [
  // Instagram
  {
    platform: 'instagram',
    rule: 'instagram.text_length',
    field: 'v.caption',
    ok: { caption: 'é'.repeat(2200) },
    bad: { caption: 'é'.repeat(2201) },
  },
  {
    platform: 'instagram',
    rule: 'instagram.hashtags',
    field: 'v.caption',
    ok: { caption: tags(30) },
    bad: { caption: tags(31) },
  },
  {
    platform: 'instagram',
    rule: 'instagram.media_required',
    field: 'v.media',
    ok: { media: [img()] },
    bad: { media: [] },
  },
  {
    platform: 'instagram',
    rule: 'instagram.media_count',
    field: 'v.media',
    ok: { media: many(10, img) },
    bad: { media: many(11, img) },
  },
  {
    platform: 'instagram',
    rule: 'instagram.media_kind',
    field: 'v.media[1].kind',
    ok: { media: [img(), vid()] },
    bad: { media: [img(), pdf()] },
  },
  {
    platform: 'instagram',
    rule: 'instagram.image_type',
    field: 'v.media[0].mimeType',
    ok: { media: [img()] },
    bad: { media: [img({ mimeType: 'image/png' })] },
  },
  {
    platform: 'instagram',
    rule: 'instagram.image_size',
    field: 'v.media[0].sizeBytes',
    ok: { media: [img({ sizeBytes: 8 * MB })] },
    bad: { media: [img({ sizeBytes: 8 * MB + 1 })] },
  },
  {
    platform: 'instagram',
    rule: 'instagram.video_size',
    field: 'v.media[0].sizeBytes',
    ok: { media: [vid({ sizeBytes: 300 * MB })] },
    bad: { media: [vid({ sizeBytes: 300 * MB + 1 })] },
  },
  {
    platform: 'instagram',
    rule: 'instagram.video_duration',
    field: 'v.media[0].durationS',
    ok: { media: [vid({ durationS: 900 })], options: { mediaType: 'REELS' } },
    bad: { media: [vid({ durationS: 901 })], options: { mediaType: 'REELS' } },
  },
  {
    platform: 'instagram',
    rule: 'instagram.media_type',
    field: 'v.options.mediaType',
    ok: withOptions('instagram', { mediaType: 'FEED' }),
    bad: withOptions('instagram', { mediaType: 'CAROUSEL' }),
  },
  {
    platform: 'instagram',
    rule: 'instagram.reels_media',
    field: 'v.media',
    ok: { media: [vid()], options: { mediaType: 'REELS' } },
    bad: { media: [img()], options: { mediaType: 'REELS' } },
  },
  {
    platform: 'instagram',
    rule: 'instagram.stories_media',
    field: 'v.media',
    ok: { media: [img()], options: { mediaType: 'STORIES' } },
    bad: { media: [img(), img()], options: { mediaType: 'STORIES' } },
  },
  // Threads
  {
    platform: 'threads',
    rule: 'threads.text_length',
    field: 'v.caption',
    ok: { caption: '😀'.repeat(500) },
    bad: { caption: '😀'.repeat(501) },
  },
  {
    platform: 'threads',
    rule: 'threads.text_required',
    field: 'v.caption',
    ok: { caption: '', media: [img()] },
    bad: { caption: '   ', media: [] },
  },
  {
    platform: 'threads',
    rule: 'threads.media_count',
    field: 'v.media',
    ok: { media: many(20, img) },
    bad: { media: many(21, img) },
  },
  {
    platform: 'threads',
    rule: 'threads.media_kind',
    field: 'v.media[0].kind',
    ok: { media: [vid()] },
    bad: { media: [pdf()] },
  },
  // Facebook
  {
    platform: 'facebook',
    rule: 'facebook.text_length',
    field: 'v.caption',
    ok: { caption: 'a'.repeat(63206) },
    bad: { caption: 'a'.repeat(63207) },
  },
  {
    platform: 'facebook',
    rule: 'facebook.text_required',
    field: 'v.caption',
    ok: { caption: '', media: [img()] },
    bad: { caption: '', media: [] },
  },
  {
    platform: 'facebook',
    rule: 'facebook.link',
    field: 'v.options.link',
    ok: withOptions('facebook', { link: 'https://bakery.example/bread' }),
    bad: withOptions('facebook', { link: 'javascript:alert(1)' }),
  },
  {
    platform: 'facebook',
    rule: 'facebook.media_count',
    field: 'v.media',
    ok: { media: many(10, img) },
    bad: { media: many(11, img) },
  },
  {
    platform: 'facebook',
    rule: 'facebook.media_mix',
    field: 'v.media',
    ok: { media: [vid()] },
    bad: { media: [vid(), img()] },
  },
  {
    platform: 'facebook',
    rule: 'facebook.media_kind',
    field: 'v.media[0].kind',
    ok: { media: [img()] },
    bad: { media: [pdf()] },
  },
  // LinkedIn
  {
    platform: 'linkedin',
    rule: 'linkedin.text_length',
    field: 'v.caption',
    ok: { caption: 'a'.repeat(3000) },
    bad: { caption: 'a'.repeat(3001) },
  },
  {
    platform: 'linkedin',
    rule: 'linkedin.text_required',
    field: 'v.caption',
    ok: { caption: '', media: [pdf()] },
    bad: { caption: '' },
  },
  {
    platform: 'linkedin',
    rule: 'linkedin.visibility',
    field: 'v.options.visibility',
    ok: withOptions('linkedin', { visibility: 'CONNECTIONS' }),
    bad: withOptions('linkedin', { visibility: 'public' }),
  },
  {
    platform: 'linkedin',
    rule: 'linkedin.media_count',
    field: 'v.media',
    ok: { media: many(20, img) },
    bad: { media: many(21, img) },
  },
  {
    platform: 'linkedin',
    rule: 'linkedin.media_mix',
    field: 'v.media',
    ok: { media: [pdf()] },
    bad: { media: [pdf(), img()] },
  },
  {
    platform: 'linkedin',
    rule: 'linkedin.video_size',
    field: 'v.media[0].sizeBytes',
    ok: { media: [vid({ sizeBytes: MAX_UPLOAD_BYTES })] },
    bad: { media: [vid({ sizeBytes: MAX_UPLOAD_BYTES + 1 })] },
  },
  {
    platform: 'linkedin',
    rule: 'linkedin.document_type',
    field: 'v.media[0].mimeType',
    ok: { media: [pdf()] },
    bad: { media: [pdf({ mimeType: 'application/msword' })] },
  },
  {
    platform: 'linkedin',
    rule: 'linkedin.document_size',
    field: 'v.media[0].sizeBytes',
    ok: { media: [pdf({ sizeBytes: 100 * MB })] },
    bad: { media: [pdf({ sizeBytes: 100 * MB + 1 })] },
  },
  // X
  {
    platform: 'x',
    rule: 'x.text_length',
    field: 'v.caption',
    ok: { caption: 'a'.repeat(280) },
    bad: { caption: 'a'.repeat(281) },
  },
  {
    platform: 'x',
    rule: 'x.text_length',
    field: 'v.caption',
    ok: { caption: '日'.repeat(140) },
    bad: { caption: '日'.repeat(141) },
  },
  {
    platform: 'x',
    rule: 'x.text_length',
    field: 'v.caption',
    ok: { caption: `${'a'.repeat(256)} https://example.com/${'p'.repeat(300)}` },
    bad: { caption: `${'a'.repeat(257)} https://example.com/${'p'.repeat(300)}` },
  },
  {
    platform: 'x',
    rule: 'x.text_required',
    field: 'v.caption',
    ok: { caption: '', media: [img()] },
    bad: { caption: '' },
  },
  {
    platform: 'x',
    rule: 'x.reply_settings',
    field: 'v.options.replySettings',
    ok: withOptions('x', { replySettings: 'mentionedUsers' }),
    bad: withOptions('x', { replySettings: 'everyone' }),
  },
  { platform: 'x', rule: 'x.media_count', field: 'v.media', ok: { media: many(4, img) }, bad: { media: many(5, img) } },
  { platform: 'x', rule: 'x.media_mix', field: 'v.media', ok: { media: [gif()] }, bad: { media: [gif(), img()] } },
  { platform: 'x', rule: 'x.media_mix', field: 'v.media', ok: { media: [vid()] }, bad: { media: [vid(), vid()] } },
  { platform: 'x', rule: 'x.media_kind', field: 'v.media[0].kind', ok: { media: [img()] }, bad: { media: [pdf()] } },
  {
    platform: 'x',
    rule: 'x.image_size',
    field: 'v.media[0].sizeBytes',
    ok: { media: [img({ sizeBytes: 5 * MB })] },
    bad: { media: [img({ sizeBytes: 5 * MB + 1 })] },
  },
  {
    platform: 'x',
    rule: 'x.gif_size',
    field: 'v.media[0].sizeBytes',
    ok: { media: [gif({ sizeBytes: 15 * MB })] },
    bad: { media: [gif({ sizeBytes: 15 * MB + 1 })] },
  },
  {
    platform: 'x',
    rule: 'x.video_size',
    field: 'v.media[0].sizeBytes',
    ok: { media: [vid({ sizeBytes: 512 * MB })] },
    bad: { media: [vid({ sizeBytes: 512 * MB + 1 })] },
  },
  // YouTube
  {
    platform: 'youtube',
    rule: 'youtube.title_required',
    field: 'v.options.title',
    ok: { options: { title: 'T' } },
    bad: { options: {} },
  },
  {
    platform: 'youtube',
    rule: 'youtube.title_required',
    field: 'v.options.title',
    ok: { options: { title: 'T' } },
    bad: { options: { title: '  ' } },
  },
  {
    platform: 'youtube',
    rule: 'youtube.title_length',
    field: 'v.options.title',
    ok: { options: { title: 't'.repeat(100) } },
    bad: { options: { title: 't'.repeat(101) } },
  },
  {
    platform: 'youtube',
    rule: 'youtube.title_chars',
    field: 'v.options.title',
    ok: { options: { title: 'Bread & butter' } },
    bad: { options: { title: 'Bread <b>' } },
  },
  {
    platform: 'youtube',
    rule: 'youtube.description_length',
    field: 'v.caption',
    ok: { caption: 'd'.repeat(5000) },
    bad: { caption: 'd'.repeat(5001) },
  },
  {
    platform: 'youtube',
    rule: 'youtube.privacy_status',
    field: 'v.options.privacyStatus',
    ok: withOptions('youtube', { privacyStatus: 'unlisted' }),
    bad: withOptions('youtube', { privacyStatus: 'friends' }),
  },
  {
    platform: 'youtube',
    rule: 'youtube.media_count',
    field: 'v.media',
    ok: { media: [vid()] },
    bad: { media: [vid(), vid()] },
  },
  {
    platform: 'youtube',
    rule: 'youtube.media_count',
    field: 'v.media',
    ok: { media: [vid()] },
    bad: { media: [img()] },
  },
  {
    platform: 'youtube',
    rule: 'youtube.video_size',
    field: 'v.media[0].sizeBytes',
    ok: { media: [vid({ sizeBytes: MAX_UPLOAD_BYTES })] },
    bad: { media: [vid({ sizeBytes: MAX_UPLOAD_BYTES + 1 })] },
  },
  // TikTok
  {
    platform: 'tiktok',
    rule: 'tiktok.text_length',
    field: 'v.caption',
    ok: { caption: 'a'.repeat(2200) },
    bad: { caption: 'a'.repeat(2201) },
  },
  {
    platform: 'tiktok',
    rule: 'tiktok.privacy_level',
    field: 'v.options.privacyLevel',
    ok: { options: { privacyLevel: 'SELF_ONLY' } },
    bad: { options: {} },
  },
  {
    platform: 'tiktok',
    rule: 'tiktok.privacy_level',
    field: 'v.options.privacyLevel',
    ok: { options: { privacyLevel: 'FOLLOWER_OF_CREATOR' } },
    bad: { options: { privacyLevel: 'PUBLIC' } },
  },
  { platform: 'tiktok', rule: 'tiktok.media_required', field: 'v.media', ok: { media: [vid()] }, bad: { media: [] } },
  {
    platform: 'tiktok',
    rule: 'tiktok.media_count',
    field: 'v.media',
    ok: { media: [vid()] },
    bad: { media: [vid(), vid()] },
  },
  {
    platform: 'tiktok',
    rule: 'tiktok.media_kind',
    field: 'v.media[0].kind',
    ok: { media: [vid()] },
    bad: { media: [img()] },
  },
  {
    platform: 'tiktok',
    rule: 'tiktok.video_type',
    field: 'v.media[0].mimeType',
    ok: { media: [vid({ mimeType: 'video/quicktime' })] },
    bad: { media: [vid({ mimeType: 'video/x-msvideo' })] },
  },
  {
    platform: 'tiktok',
    rule: 'tiktok.video_size',
    field: 'v.media[0].sizeBytes',
    ok: { media: [vid({ sizeBytes: MAX_UPLOAD_BYTES })] },
    bad: { media: [vid({ sizeBytes: MAX_UPLOAD_BYTES + 1 })] },
  },
];

describe('variant rules', () => {
  it.each(Object.entries(base))('accepts a plain valid %s variant', (platform, variant) => {
    expect(validateVariant(platform as PlatformId, variant, 'v')).toEqual([]);
  });

  it.each(cases.map((c) => [c.rule, c] as const))('%s: passes inside the limit, fails outside', (_rule, c) => {
    const ok = validateVariant(c.platform, { ...base[c.platform], ...c.ok }, 'v');
    expect(ok).toEqual([]);
    const bad = validateVariant(c.platform, { ...base[c.platform], ...c.bad }, 'v');
    expect(bad).toContainEqual({ rule: c.rule, field: c.field, message: expect.any(String) });
  });

  it('covers every rule id the module can report', () => {
    const covered = new Set(cases.map((c) => c.rule));
    for (const rule of [
      'instagram.text_length',
      'threads.text_length',
      'facebook.text_length',
      'linkedin.text_length',
      'x.text_length',
      'tiktok.text_length',
      'youtube.title_length',
      'youtube.description_length',
    ]) {
      expect(covered).toContain(rule);
    }
  });

  it('names the variant given as prefix in every field', () => {
    const [v] = validateVariant('youtube', { caption: '', media: [vid()], options: {} }, 'variants[2]');
    expect(v).toMatchObject({ rule: 'youtube.title_required', field: 'variants[2].options.title' });
    expect(v!.message).toMatch(/title/);
  });

  it('reports several problems at once', () => {
    const rules = validateVariant(
      'x',
      { caption: 'a'.repeat(300), media: [pdf()], options: { replySettings: 'x' } },
      'v',
    ).map((v) => v.rule);
    expect(rules).toEqual(expect.arrayContaining(['x.text_length', 'x.media_kind', 'x.reply_settings']));
  });

  it('refuses every WhatsApp variant and target: there is no feed', () => {
    expect(validateVariant('whatsapp', { caption: 'Hi', media: [], options: {} }, 'v')).toEqual([
      { rule: 'whatsapp.no_feed', field: 'v', message: expect.stringMatching(/no feed/) },
    ]);
    expect(validateTargetPlatform('whatsapp', 'targets[0].connectionId')).toMatchObject({
      rule: 'whatsapp.no_feed',
      field: 'targets[0].connectionId',
    });
    expect(validateTargetPlatform('x', 'targets[0].connectionId')).toBeUndefined();
  });

  it('a Facebook link post needs no text, but a bad link does not count as content', () => {
    expect(
      validateVariant('facebook', { caption: '', media: [], options: { link: 'https://a.example' } }, 'v'),
    ).toEqual([]);
    const rules = validateVariant(
      'facebook',
      { caption: '', media: [], options: { link: 'ftp://a.example' } },
      'v',
    ).map((v) => v.rule);
    expect(rules).toEqual(['facebook.link', 'facebook.text_required']);
  });
});

describe('counting', () => {
  it('weighs text the way X does: URLs 23, CJK and emoji 2, Latin 1', () => {
    expect(xWeightedLength('hello')).toBe(5);
    expect(xWeightedLength('日本')).toBe(4);
    expect(xWeightedLength('👨‍👩‍👧‍👦')).toBe(2);
    expect(xWeightedLength('🇫🇷')).toBe(2);
    expect(xWeightedLength(`see https://example.com/${'x'.repeat(200)}`)).toBe(4 + 23);
    expect(xWeightedLength('see https://example.com/a.')).toBe(4 + 23 + 1);
    // Decomposed é is normalised to one code point first.
    expect(xWeightedLength('e\u0301')).toBe(1);
  });

  it('counts hashtags, not C# or #123 or anchors in URLs', () => {
    expect(hashtagCount('#bread and #butter')).toBe(2);
    expect(hashtagCount('C# is not a tag, #123 neither, https://a.example/#frag')).toBe(0);
    expect(hashtagCount('#pâtisserie')).toBe(1);
  });

  it('picks the platform variant, else default, else none', () => {
    const variants = [{ platform: 'default' }, { platform: 'x' }];
    expect(effectiveVariant(variants, 'x')).toBe(variants[1]);
    expect(effectiveVariant(variants, 'linkedin')).toBe(variants[0]);
    expect(effectiveVariant([{ platform: 'x' }], 'linkedin')).toBeUndefined();
  });
});

describe('publish caps', () => {
  it('keeps the numbers in one table', () => {
    expect(PUBLISH_CAPS).toEqual({
      instagram: { limit: 50, windowMs: DAY },
      threads: { limit: 250, windowMs: DAY },
      x: { limit: 100, windowMs: 15 * MINUTE },
      linkedin: { limit: 150, windowMs: DAY },
      youtube: { limit: 100, windowMs: DAY },
      tiktok: { limit: 15, windowMs: DAY },
      facebook: { limit: 100, windowMs: DAY },
    });
  });

  it.each(Object.entries(PUBLISH_CAPS))('%s: one more fits below the cap, not at it', (platform, cap) => {
    expect(publishCapFits(platform as PlatformId, cap.limit - 1)).toBe(true);
    expect(publishCapFits(platform as PlatformId, cap.limit)).toBe(false);
  });

  it('has no cap for WhatsApp (no feed at all)', () => {
    expect(publishCapFits('whatsapp', 10_000)).toBe(true);
  });

  const t = new Date('2026-12-01T12:00:00Z');
  const at = (minutes: number) => new Date(t.getTime() + minutes * MINUTE);

  it('counts the busiest window that holds the due time, not everything within a window either side', () => {
    const before = Array.from({ length: 50 }, () => at(-14));
    const after = Array.from({ length: 50 }, () => at(14));
    expect(busiestWindowCount(t, [...before, ...after], 15 * MINUTE)).toBe(50);
    expect(checkPublishCap('x', t, [...before, ...after], 'dueAt')).toBeUndefined();
    // Outside the window entirely: not counted.
    expect(busiestWindowCount(t, [at(-15), at(15)], 15 * MINUTE)).toBe(0);
    expect(busiestWindowCount(t, [at(-15), at(-14.99)], 15 * MINUTE)).toBe(1);
  });

  it('refuses one more when a window around the due time is full', () => {
    const full = [...Array.from({ length: 99 }, () => at(-1)), at(1)];
    expect(busiestWindowCount(t, full, 15 * MINUTE)).toBe(100);
    expect(checkPublishCap('x', t, full, 'body.dueAt')).toMatchObject({ rule: 'x.publish_cap', field: 'body.dueAt' });
    expect(checkPublishCap('x', t, full.slice(1), 'body.dueAt')).toBeUndefined();
    const day = Array.from({ length: 15 }, (_, i) => at(-60 * i));
    expect(checkPublishCap('tiktok', t, day, 'dueAt')?.rule).toBe('tiktok.publish_cap');
    expect(checkPublishCap('tiktok', t, day.slice(1), 'dueAt')).toBeUndefined();
    expect(checkPublishCap('whatsapp', t, day, 'dueAt')).toBeUndefined();
  });
});

describe('due times', () => {
  const now = new Date('2026-12-01T12:00:00Z');

  it('takes a time in the past as now', () => {
    expect(resolveDueAt(new Date('2020-01-01T00:00:00Z'), now, 'dueAt')).toEqual({ dueAt: now });
    const later = new Date(now.getTime() + DAY);
    expect(resolveDueAt(later, now, 'dueAt')).toEqual({ dueAt: later });
  });

  it('refuses more than a year ahead', () => {
    const edge = new Date(now.getTime() + MAX_SCHEDULE_AHEAD_MS);
    expect(resolveDueAt(edge, now, 'dueAt')).toEqual({ dueAt: edge });
    expect(resolveDueAt(new Date(edge.getTime() + 1), now, 'body.dueAt')).toMatchObject({
      violation: { rule: 'schedule.too_far_ahead', field: 'body.dueAt' },
    });
  });
});
