import { type KoaContextWithOIDC } from 'oidc-provider';
import { type Allowed } from './consents.service.js';

/** Custom client metadata: the operator's «first-party» mark (no consent screen). */
export const FIRST_PARTY = 'first_party';

/** Where a person's earlier consent comes from (ConsentsService). */
export type RememberedConsent = (userId: string, clientId: string) => Promise<Allowed | null>;

/**
 * oidc-provider's `loadExistingGrant`: what a client may receive without the consent prompt. A
 * first-party client gets what it asks for; another only what the person allowed it before,
 * remembered per client (a new session of the provider included) until revoked in «Приложения».
 * What is not covered is left missing, and the consent prompt asks for it on our page.
 */
export async function loadExistingGrant(ctx: KoaContextWithOIDC, remembered: RememberedConsent) {
  const { client, session } = ctx.oidc;
  if (!client || !session?.accountId) return undefined;
  const grantId = ctx.oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
  const existing = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
  const requested = [...ctx.oidc.requestParamOIDCScopes];
  let allowed: Allowed;
  if (client.metadata()[FIRST_PARTY] === true) {
    allowed = { scopes: requested, claims: [] };
  } else {
    const consent = await remembered(session.accountId, client.clientId);
    // Nothing allowed (never, or revoked): whatever grant the session names does not count.
    if (!consent) return undefined;
    allowed = {
      scopes: requested.filter((scope) => consent.scopes.includes(scope)),
      claims: [...ctx.oidc.requestParamClaims].filter((claim) => consent.claims.includes(claim)),
    };
  }
  const grant =
    existing ??
    new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
  const before = JSON.stringify([grant.getOIDCScope(), grant.getOIDCClaims()]);
  grant.addOIDCScope(allowed.scopes.join(' '));
  if (allowed.claims.length > 0) grant.addOIDCClaims(allowed.claims);
  if (!existing || JSON.stringify([grant.getOIDCScope(), grant.getOIDCClaims()]) !== before)
    await grant.save();
  return grant;
}
