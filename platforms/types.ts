// One interface for every social platform. Later issues add analytics, inbox and publishing to the
// same adapters; this file holds what connecting an account needs.

export const PLATFORMS = [
  'youtube',
  'instagram',
  'facebook',
  'tiktok',
  'linkedin',
  'x',
  'threads',
  'whatsapp',
] as const;
export type PlatformId = (typeof PLATFORMS)[number];

/** Platforms plus Google sign-in: everything reached over OAuth. */
export type Provider = PlatformId | 'google';

export const isPlatform = (value: string): value is PlatformId => (PLATFORMS as readonly string[]).includes(value);

/**
 * How a platform keeps a connection alive:
 * - rotating: each refresh returns a new refresh token and the old one stops working (X, TikTok);
 * - stable: the refresh token is kept and reused (Google, LinkedIn);
 * - reissue: there is no refresh token; a long-lived access token is exchanged for a fresh one
 *   once it is old enough (Instagram, Threads);
 * - none: the token does not expire or cannot be renewed without the user (Facebook Page tokens,
 *   WhatsApp business tokens).
 */
export type RefreshRule = 'rotating' | 'stable' | 'reissue' | 'none';

/** Secret material of a connection. Only activities see it; it is stored encrypted. */
export interface TokenSet {
  accessToken: string;
  /** Absent on a refresh response: the stored refresh token stays valid (stable rule). */
  refreshToken?: string;
  /** Absent: the access token does not expire. */
  expiresAt?: Date;
  refreshExpiresAt?: Date;
  /** Scopes the platform says were granted (users can untick some). */
  scopes: string[];
  /** Further secrets that belong to the connection, e.g. a Facebook Page token. */
  extra?: Record<string, string>;
}

export interface Profile {
  /** The platform's id of the connected account (channel id, page id, open_id, URN, …). */
  externalId: string;
  displayName: string;
  handle?: string;
  /** Other ids worth keeping (Instagram app-scoped id, WhatsApp phone-number id, …). */
  ids?: Record<string, string>;
}

export interface AuthorizeParams {
  state: string;
  redirectUri: string;
  /** PKCE S256 challenge; only sent where the platform supports PKCE. */
  codeChallenge?: string;
  /** OIDC nonce, for sign-in flows. */
  nonce?: string;
}

export interface ExchangeParams {
  code: string;
  redirectUri: string;
  codeVerifier?: string;
}

export type RevokeResult =
  | { outcome: 'revoked'; status: number; detail?: string }
  /** The platform has no revoke endpoint: the grant stays until the user removes the app. */
  | { outcome: 'local_only'; reason: string };

export interface PlatformAdapter {
  readonly platform: PlatformId;
  readonly displayName: string;
  readonly pkce: boolean;
  readonly refreshRule: RefreshRule;
  /** Youngest token the platform will refresh (Instagram and Threads: 24 h). */
  readonly minRefreshAgeMs: number;
  readonly scopes: readonly string[];
  /** True when the adapter talks to the local simulator rather than the real platform. */
  readonly simulated: boolean;
  authorizeUrl(params: AuthorizeParams): string;
  /** Code → tokens, including Meta's long-lived exchange. */
  exchangeCode(params: ExchangeParams): Promise<TokenSet>;
  /** Follows the platform's refresh rule; never called for rule `none`. */
  refresh(tokens: TokenSet): Promise<TokenSet>;
  profile(tokens: TokenSet): Promise<Profile>;
  revoke(tokens: TokenSet): Promise<RevokeResult>;
}

/** Where an adapter sends its calls and with which app credentials. */
export interface AdapterConfig {
  clientId: string;
  clientSecret: string;
  /** Replaces every host of the platform (the simulator, a proxy); empty means the real hosts. */
  baseUrl: string;
  /** Request timeout for one call. */
  timeoutMs: number;
}
