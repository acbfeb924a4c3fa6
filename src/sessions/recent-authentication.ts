/**
 * Actions that could hand the account to someone else (linking Госуслуги, replacing or removing
 * a verified e-mail) need a password entered this recently in the current session.
 */
export const RECENT_AUTHENTICATION_MS = 10 * 60_000;
