import { PlatformError } from './errors.ts';
import { asRecord, oauthTokens, requireString, url } from './http.ts';
import { bearer, type ContainerPlan, containerPublisher, reissueLogin } from './meta.ts';
import type { AdapterConfig, MediaRef, PlatformAdapter, PublishContent } from './types.ts';

// Threads: Instagram-style login. A 1-hour token is exchanged for a 60-day one, which is re-issued
// (never refreshed with a refresh token) once it is 24 hours old.
const HOSTS = {
  www: 'https://threads.net',
  graph: 'https://graph.threads.net',
};
const API_VERSION = 'v1.0';
const SCOPES = [
  'threads_basic',
  'threads_content_publish',
  'threads_read_replies',
  'threads_manage_replies',
  'threads_manage_insights',
  'threads_manage_mentions',
  'threads_delete',
];

const MAX_TEXT = 500;
const MAX_CAROUSEL = 20;

const refuse = (message: string) => new PlatformError('threads', 'permanent', `threads: ${message}`);

function mediaParams(m: MediaRef) {
  if (m.kind === 'image') return { media_type: 'IMAGE', image_url: m.url, alt_text: m.altText };
  if (m.kind === 'video') return { media_type: 'VIDEO', video_url: m.url, alt_text: m.altText };
  throw refuse(`${m.kind} files cannot be published`);
}

/** Text up to 500 characters, with no media (TEXT), one image or video, or a carousel of 2–20. */
export function threadsPlan(content: PublishContent): ContainerPlan {
  const text = content.caption || undefined;
  if (text && [...text].length > MAX_TEXT) throw refuse(`a post's text is at most ${MAX_TEXT} characters`);
  const { media } = content;
  const [first] = media;
  if (!first) {
    if (!text) throw refuse('a post needs text or media');
    return { items: [], main: { media_type: 'TEXT', text } };
  }
  if (media.length === 1) return { items: [], main: { ...mediaParams(first), text } };
  if (media.length > MAX_CAROUSEL) throw refuse(`a carousel holds at most ${MAX_CAROUSEL} images or videos`);
  return {
    items: media.map((m) => ({ ...mediaParams(m), is_carousel_item: 'true' })),
    main: { media_type: 'CAROUSEL', text },
  };
}

export function createThreadsAdapter(cfg: AdapterConfig): PlatformAdapter {
  const host = (name: keyof typeof HOSTS) => cfg.baseUrl || HOSTS[name];
  const login = reissueLogin('threads', cfg, {
    hosts: { www: host('www'), code: host('graph'), graph: host('graph') },
    grants: { exchange: 'th_exchange_token', refresh: 'th_refresh_token' },
    scopes: SCOPES,
  });
  const { call } = login;
  const publisher = containerPublisher({
    platform: 'threads',
    call,
    graph: (path, query) => url(host('graph'), `/${API_VERSION}${path}`, query),
    edges: { container: 'threads', publish: 'threads_publish', limit: 'threads_publishing_limit' },
    statusFields: { status: 'status', reason: 'error_message' },
    textField: 'text',
    plan: threadsPlan,
    listEdge: () => 'threads',
  });

  return {
    platform: 'threads',
    displayName: 'Threads',
    pkce: false,
    refreshRule: 'reissue',
    minRefreshAgeMs: 86_400_000,
    scopes: SCOPES,
    simulated: Boolean(cfg.baseUrl),
    authorizeUrl: login.authorizeUrl,
    publisher,

    async exchangeCode({ code, redirectUri }) {
      const short = asRecord(await login.redeem(code, redirectUri));
      const long = await login.longLived(requireString('threads', short, 'access_token'));
      // Threads' token responses name no scopes: record the ones asked for.
      return { ...oauthTokens('threads', long), scopes: SCOPES };
    },

    refresh: login.refresh,

    async profile(tokens) {
      const res = await call({
        url: url(host('graph'), `/${API_VERSION}/me`, { fields: 'id,username,name' }),
        headers: bearer(tokens.accessToken),
      });
      const me = asRecord(res.body);
      const username = typeof me.username === 'string' ? me.username : undefined;
      return {
        externalId: requireString('threads', me, 'id'),
        displayName: String(me.name || username || me.id),
        handle: username,
      };
    },

    async revoke() {
      return {
        outcome: 'local_only',
        reason: 'Threads has no revoke endpoint: the grant stays until the user removes the app in Threads settings',
      };
    },
  };
}
