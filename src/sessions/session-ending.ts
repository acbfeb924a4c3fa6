import { type Session } from './session.entity.js';

/**
 * Why a session ended, as `sessions.revoked_reason` keeps it (at most 32 characters). Every way
 * of ending sessions names one of these: one session (`endSession`), a user's sessions
 * (SessionManagement.end, SessionService.revokeOthers) or everyone's (SessionManagement.endEveryone).
 */
export type SessionEndReason =
  | 'logout'
  | 'replaced_by_login'
  | 'reauthenticated'
  | 'password_changed'
  | 'password_reset'
  | 'ended_by_user'
  | 'others_ended_by_user'
  | 'ended_by_admin'
  | 'account_blocked'
  | 'account_archived'
  | 'all_ended_by_operator'
  | 'gosuslugi_unlinked'
  | 'mfa_reset';

/** The columns of an ended session, for a bulk update as for one entity. */
export function endedColumns(
  reason: SessionEndReason,
  now: Date = new Date(),
): { revokedAt: Date; revokedReason: SessionEndReason } {
  return { revokedAt: now, revokedReason: reason };
}

/**
 * Ends one loaded session (the caller flushes, inside its transaction). A session ends once: the
 * first reason and time stay. Returns whether this call ended it.
 */
export function endSession(
  session: Pick<Session, 'revokedAt' | 'revokedReason'>,
  reason: SessionEndReason,
  now: Date = new Date(),
): boolean {
  if (session.revokedAt !== null) return false;
  Object.assign(session, endedColumns(reason, now));
  return true;
}
