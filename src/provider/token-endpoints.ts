import { type Client, type KoaContextWithOIDC } from 'oidc-provider';

/**
 * Introspection (RFC 7662) and revocation (RFC 7009) answer a client about its own tokens only.
 * oidc-provider's default lets any confidential client introspect every token, so one application
 * could learn who is signed in to another; here a token of another client is `active: false`, and
 * revoking it changes nothing.
 */
export function ownTokensOnly(
  _ctx: KoaContextWithOIDC,
  client: Client,
  token: { clientId?: string },
): boolean {
  return token.clientId === client.clientId;
}
