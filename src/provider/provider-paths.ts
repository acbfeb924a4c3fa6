/**
 * Where the OpenID Provider lives on this origin. The issuer is PUBLIC_URL itself, so discovery is
 * at the root; every other endpoint of oidc-provider is under /oidc, and the interactions
 * (/oidc/interaction/:uid) are ours, served by Nest.
 */
export const PROVIDER_PREFIX = '/oidc';
export const DISCOVERY_PATH = '/.well-known/openid-configuration';
export const INTERACTION_PREFIX = `${PROVIDER_PREFIX}/interaction/`;

export const interactionPath = (uid: string) => `${INTERACTION_PREFIX}${uid}`;

/** The interaction a local `returnTo` resumes, if it is one. */
export function interactionUidOf(returnTo: string | null | undefined): string | null {
  if (!returnTo?.startsWith(INTERACTION_PREFIX)) return null;
  const uid = returnTo.slice(INTERACTION_PREFIX.length);
  return /^[A-Za-z0-9_-]{1,64}$/.test(uid) ? uid : null;
}

/** Requests oidc-provider answers itself; everything else goes on to Nest. */
export function isProviderPath(path: string): boolean {
  if (path === DISCOVERY_PATH) return true;
  return path.startsWith(`${PROVIDER_PREFIX}/`) && !path.startsWith(INTERACTION_PREFIX);
}
