import { type ClientInfo } from '../common/client-info.js';
import { type VerifiedIdentity } from '../identity/identity-links.service.js';
import { type User } from '../identity/user.entity.js';

/**
 * Why an acceptance binds nothing; each has its page (gosuslugi.texts.ts). The invitee checks
 * (`profile_mismatch`, `untrusted`, `snils_unavailable`) are the ones pos/invitee.ts makes.
 */
export type RefusalReason =
  | 'used'
  | 'expired'
  | 'revoked'
  | 'unknown'
  | 'account_unavailable'
  | 'already_member'
  | 'profile_mismatch'
  | 'untrusted'
  | 'snils_unavailable'
  | 'email_has_account'
  | 'identity_linked_elsewhere'
  | 'already_linked'
  | 'session_ended'
  | 'retry';

export type AcceptanceOutcome =
  | { kind: 'accepted'; user: User }
  | { kind: 'refused'; reason: RefusalReason; organization?: string; email?: string };

/** The account a signed-in person chose («Принять в эту учётную запись») and the session that chose it. */
export interface AcceptInto {
  userId: string;
  sessionId: string;
}

/**
 * What the Госуслуги callback needs from invitations: accept one for the identity that came back.
 * Invitations belong to a feature above this one (ПОС), which implements the port; the callback
 * depends on this interface only, so the folder order keeps pointing down.
 */
export interface InvitationAcceptancePort {
  accept(
    invitationId: string,
    identity: VerifiedIdentity,
    client: ClientInfo,
    into?: AcceptInto,
  ): Promise<AcceptanceOutcome>;
}

/** The injection token of InvitationAcceptancePort. */
export const INVITATION_ACCEPTANCE = Symbol('INVITATION_ACCEPTANCE');
