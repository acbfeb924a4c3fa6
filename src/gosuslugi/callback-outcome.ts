import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { type LoginResult } from '../sessions/login-outcome.js';
import { type Session } from '../sessions/session.entity.js';
import { type GosuslugiPage } from './gosuslugi.texts.js';
import { type LoginTransaction } from './login-transaction.entity.js';
import { type TransactionCookie } from './login-transactions.service.js';

/** On to the provider: where to, and the cookie that binds the round trip to this browser. */
export interface ProviderRedirect {
  url: URL;
  transactionCookie: TransactionCookie;
}

/**
 * The session the browser's cookie proves when asked (looked up then, its idle expiry extended).
 * A function, not a value: a callback looks it up only once the provider's answer checked out,
 * and again after a step that may have ended it.
 */
export type BrowserSession = () => Promise<Session | null>;

/** What a browser brings back to finish a round trip, as the controller reads it from the request. */
export interface BrowserReturn {
  /** The transaction cookie's handle (cookies.ts reads it; the controller clears the cookie). */
  handle: string | undefined;
  /** The `state` the provider or the confirmation form sent back. */
  state: unknown;
  browserSession: BrowserSession;
}

/** What a return from Госуслуги (or the link confirmation) comes to; the controller answers it. */
export type CallbackOutcome =
  | { kind: 'logged_in'; login: LoginResult; returnTo: string }
  | { kind: 'linked'; returnTo: string }
  | { kind: 'confirm_link'; transactionCookie: TransactionCookie }
  | { kind: 'refused'; page: GosuslugiPage; code?: string; detail?: string };

export type LinkStart =
  ({ kind: 'redirect' } & ProviderRedirect) | { kind: 'login_required'; reauthenticate: boolean };

/** A refused return, audited as `gosuslugi.callback_rejected`. */
export async function refused(
  audit: AuditService,
  page: GosuslugiPage,
  client: ClientInfo,
  code: string,
  userId?: string,
  detail?: string,
): Promise<CallbackOutcome> {
  await audit.write({
    type: 'gosuslugi.callback_rejected',
    targetUserId: userId ?? null,
    client,
    details: { reason: code },
  });
  return { kind: 'refused', page, code, detail };
}

/** The session a round trip began in (a link, an acceptance into the signed-in account) has ended. */
export function sessionEnded(
  audit: AuditService,
  client: ClientInfo,
  transaction: LoginTransaction,
): Promise<CallbackOutcome> {
  return refused(
    audit,
    'sessionEnded',
    client,
    'session_mismatch',
    transaction.userId ?? undefined,
  );
}

/** The browser must still hold the session that began the round trip. */
export async function startingSession(
  browserSession: BrowserSession,
  transaction: LoginTransaction,
): Promise<Session | null> {
  const session = await browserSession();
  if (!session || session.id !== transaction.sessionId || session.user.id !== transaction.userId)
    return null;
  return session;
}
