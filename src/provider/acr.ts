import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { AuthMethod } from '../sessions/session.entity.js';

/** How a person logged in, as `acr` and `amr`: the session's `authenticated_with`. */
export const PROVIDER_ACRS = [AuthMethod.Password, AuthMethod.Gosuslugi] as const;

/** The login check's reason, read by the interaction to send the person to Госуслуги. */
export const GOSUSLUGI_REQUIRED = 'gosuslugi_required';

/**
 * Whether this authorization request needs a Госуслуги login. A client registered with
 * `--acr gosuslugi` (its `default_acr_values`, the ПОС back office) always does, whatever the
 * request says; any other client when its `acr_values` accept `gosuslugi` and not `pwd` (the
 * values are a list of what the client accepts: `pwd gosuslugi` accepts either).
 */
export function gosuslugiRequired(ctx: KoaContextWithOIDC): boolean {
  const required = ctx.oidc.client?.defaultAcrValues ?? [];
  if (required.includes(AuthMethod.Gosuslugi)) return true;
  const acrValues = ctx.oidc.params?.acr_values;
  if (typeof acrValues !== 'string') return false;
  const accepted = acrValues.split(' ');
  return accepted.includes(AuthMethod.Gosuslugi) && !accepted.includes(AuthMethod.Password);
}

/**
 * oidc-provider treats `acr_values` as voluntary (OpenID Connect Core 3.1.2.1) and answers with
 * whatever session there is; here a client that needs Госуслуги never gets a password-only one:
 * the login prompt comes back with this reason until the provider's session says `gosuslugi`.
 */
export function gosuslugiCheck(): interactionPolicy.Check {
  return new interactionPolicy.Check(
    GOSUSLUGI_REQUIRED,
    'the client requires a login through Госуслуги',
    (ctx) =>
      gosuslugiRequired(ctx) && ctx.oidc.session?.acr !== AuthMethod.Gosuslugi
        ? interactionPolicy.Check.REQUEST_PROMPT
        : interactionPolicy.Check.NO_NEED_TO_PROMPT,
  );
}
