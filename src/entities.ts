import { AccountToken } from './accounts/account-token.entity.js';
import { AuditEvent } from './audit/audit-event.entity.js';
import { LoginTransaction } from './gosuslugi/login-transaction.entity.js';
import { FederatedIdentity } from './identity/federated-identity.entity.js';
import { MfaCredential } from './identity/mfa-credential.entity.js';
import { MfaRecoveryCode } from './identity/mfa-recovery-code.entity.js';
import { Passkey } from './identity/passkey.entity.js';
import { PasswordCredential } from './identity/password-credential.entity.js';
import { User } from './identity/user.entity.js';
import { MailMessage } from './mail/mail-message.entity.js';
import { Invitation } from './pos/invitation.entity.js';
import { Membership } from './pos/membership.entity.js';
import { Organization } from './pos/organization.entity.js';
import { PublicStatus } from './pos/public-status.entity.js';
import { OidcClient } from './provider/oidc-client.entity.js';
import { OidcConsent } from './provider/oidc-consent.entity.js';
import { OidcPayload } from './provider/oidc-payload.entity.js';
import { OidcSessionLink } from './provider/oidc-session-link.entity.js';
import { LoginChallenge } from './sessions/login-challenge.entity.js';
import { PasskeyChallenge } from './sessions/passkey-challenge.entity.js';
import { LoginFailure } from './sessions/login-failure.entity.js';
import { Session } from './sessions/session.entity.js';

/** Every entity, listed explicitly: no folder scanning, the same set in the app, tests and CLI. */
export const ENTITIES = [
  User,
  PasswordCredential,
  LoginFailure,
  FederatedIdentity,
  Session,
  AuditEvent,
  LoginTransaction,
  Organization,
  PublicStatus,
  Membership,
  Invitation,
  MailMessage,
  AccountToken,
  OidcPayload,
  OidcSessionLink,
  OidcClient,
  OidcConsent,
  MfaCredential,
  MfaRecoveryCode,
  LoginChallenge,
  Passkey,
  PasskeyChallenge,
];
