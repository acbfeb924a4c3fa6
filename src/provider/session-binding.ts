import { type HttpRequest, frameworkRequest } from '../common/http.js';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';

/**
 * Codes, access tokens and refresh tokens carry the id of our session (`sessions.id`) the
 * authorization came from, and are usable only while that session is live: logging out here, its
 * expiry, «Завершить все сеансы», a password reset or a block end them at once, on every instance,
 * whatever else (back-channel logout, grant revocation) does or does not happen. oidc-provider's
 * own binding (`expiresWithSession`) follows its session, which outlives ours: one provider
 * session spans every login of the same person in that browser.
 */
export const SESSION_FIELD = 'identityLinkSessionId';

/** What the binding needs from our sessions. */
export interface SessionLiveness {
  /** Our live session behind the request's cookie (at the authorization endpoint). */
  sessionIdOf(request: HttpRequest): Promise<string | null>;
  liveFor(sessionId: string, accountId: string): Promise<boolean>;
}

type Bound = { [SESSION_FIELD]?: string; accountId?: string };

interface TokenModel {
  IN_PAYLOAD: string[];
  find(...args: unknown[]): Promise<unknown>;
  prototype: { save: (this: Bound, ...args: unknown[]) => Promise<unknown> };
}

/** The request being answered (oidc-provider keeps it in an AsyncLocalStorage). */
function currentContext(): KoaContextWithOIDC | undefined {
  return (Provider as unknown as { ctx?: KoaContextWithOIDC }).ctx;
}

/**
 * A token made at the token endpoint inherits the session of what it was made from: the code
 * exchanged, or the refresh token rotated (the new refresh token, saved first, for the access token).
 */
function inherited(ctx: KoaContextWithOIDC, token: object): string | undefined {
  const { entities } = ctx.oidc;
  for (const source of [
    entities.RotatedRefreshToken,
    entities.RefreshToken,
    entities.AuthorizationCode,
  ]) {
    if (source && source !== token) {
      const id = (source as Bound)[SESSION_FIELD];
      if (typeof id === 'string') return id;
    }
  }
  return undefined;
}

/** Adds the session field to a model's stored payload, stamps it on save and checks it on find. */
function bind(
  model: TokenModel,
  liveness: SessionLiveness,
  stamp: (ctx: KoaContextWithOIDC, token: Bound) => Promise<string | undefined>,
): void {
  const inPayload = model.IN_PAYLOAD;
  Object.defineProperty(model, 'IN_PAYLOAD', { value: [...inPayload, SESSION_FIELD] });

  const save = model.prototype.save;
  model.prototype.save = async function (this: Bound, ...args: unknown[]) {
    const ctx = currentContext();
    if (this[SESSION_FIELD] === undefined && ctx) this[SESSION_FIELD] = await stamp(ctx, this);
    return save.apply(this, args);
  };

  const find = model.find.bind(model);
  model.find = async (...args: unknown[]) => {
    const token = (await find(...args)) as Bound | undefined;
    if (!token) return token;
    const sessionId = token[SESSION_FIELD];
    // A token with no session of ours (none was found when it was made) is refused, not trusted.
    if (typeof sessionId !== 'string' || typeof token.accountId !== 'string') return undefined;
    return (await liveness.liveFor(sessionId, token.accountId)) ? token : undefined;
  };
}

/** Binds the provider's codes, access tokens and refresh tokens to our sessions. */
export function bindTokensToSessions(provider: Provider, liveness: SessionLiveness): void {
  const models = provider as unknown as Record<
    'AuthorizationCode' | 'AccessToken' | 'RefreshToken',
    TokenModel
  >;
  // The code is made where the browser is, with our cookie: its session is the one logged in.
  bind(models.AuthorizationCode, liveness, async (ctx) => {
    const id = await liveness.sessionIdOf(frameworkRequest(ctx.req));
    return id ?? undefined;
  });
  bind(models.AccessToken, liveness, (ctx, token) => Promise.resolve(inherited(ctx, token)));
  bind(models.RefreshToken, liveness, (ctx, token) => Promise.resolve(inherited(ctx, token)));
}
