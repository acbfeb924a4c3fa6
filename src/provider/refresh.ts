import { frameworkRequest } from '../common/http.js';
import type Provider from 'oidc-provider';
import { type Client, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { type AuditService } from '../audit/audit.service.js';
import { clientInfoOf } from '../common/client-info.js';
import { SESSION_FIELD } from './session-binding.js';

/**
 * Refresh tokens: who gets them, their rotation, and what a reused one sets off. See docs/oidc.md.
 *
 * A confidential client (an application's server, the diary) gets a refresh token with every code
 * exchange; a public one (a browser or mobile app, which cannot keep it safe) never does and
 * signs in again through single sign-on. There is no `offline_access`: a refresh token never
 * outlives the session of ours it came from (session-binding.ts).
 */
export function issueRefreshToken(client: Client): boolean {
  return client.grantTypeAllowed('refresh_token') && client.clientAuthMethod !== 'none';
}

/**
 * Rotation on every use (RFC 9700 §4.14.2): the used token is consumed, and oidc-provider treats a
 * consumed token presented again as stolen, revoking the whole grant. A refresh is the person's
 * activity in an application: like a request with our cookie, it extends our session's idle expiry
 * (never its absolute one), as Keycloak's refresh extends its SSO session.
 */
export function rotateRefreshToken(
  extend: (sessionId: string, accountId: string) => Promise<boolean>,
): NonNullable<Configuration['rotateRefreshToken']> {
  return async (ctx: KoaContextWithOIDC) => {
    const token = ctx.oidc.entities.RefreshToken as
      { [SESSION_FIELD]?: string; accountId: string } | undefined;
    const sessionId = token?.[SESSION_FIELD];
    if (token && sessionId) await extend(sessionId, token.accountId);
    return true;
  };
}

/** oidc-provider's `error_detail` when a consumed refresh token comes back. */
const REUSED = 'refresh token already used';

/**
 * `oidc.refresh.reused` in the audit log when a consumed refresh token is presented again (and
 * oidc-provider has revoked its grant): someone holds a copy of the application's token.
 */
export function auditRefreshReuse(
  provider: Provider,
  audit: AuditService,
  onError: (error: unknown) => void,
): void {
  provider.on('grant.error', (ctx: KoaContextWithOIDC, error: { error_detail?: string }) => {
    if (error.error_detail !== REUSED) return;
    const token = ctx.oidc.entities.RefreshToken;
    audit
      .write({
        type: 'oidc.refresh.reused',
        targetUserId: token?.accountId ?? null,
        client: clientInfoOf(frameworkRequest(ctx.req)),
        details: {
          clientId: ctx.oidc.client?.clientId ?? null,
          grantId: token?.grantId ?? null,
          rotations: (token as { rotations?: number } | undefined)?.rotations ?? null,
        },
      })
      .catch(onError);
  });
}
