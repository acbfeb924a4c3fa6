import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { type LoginResult } from '../sessions/login-outcome.js';
import { type Session } from '../sessions/session.entity.js';
import { type SessionService } from '../sessions/session.service.js';
import { type Request } from 'express';
import { type GosuslugiPage } from './gosuslugi.texts.js';
import { type LoginTransaction } from './login-transaction.entity.js';

/** What a return from Госуслуги (or the link confirmation) comes to; the controller answers it. */
export type CallbackOutcome =
  | { kind: 'logged_in'; login: LoginResult; returnTo: string }
  | { kind: 'linked'; returnTo: string }
  | { kind: 'confirm_link' }
  | { kind: 'refused'; page: GosuslugiPage; code?: string; detail?: string };

export type LinkStart =
  { kind: 'redirect'; url: URL } | { kind: 'login_required'; reauthenticate: boolean };

export const DEFAULT_RETURN = '/account';

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
  sessions: SessionService,
  request: Request,
  transaction: LoginTransaction,
): Promise<Session | null> {
  const session = await sessions.fromCookie(request);
  if (!session || session.id !== transaction.sessionId || session.user.id !== transaction.userId)
    return null;
  return session;
}
