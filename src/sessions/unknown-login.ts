import { LockMode } from '@mikro-orm/core';
import { type EntityManager } from '@mikro-orm/postgresql';
import { type AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { PasswordCredential } from '../identity/password-credential.entity.js';
import { LoginFailure } from './login-failure.entity.js';

/** A credential id no row has (ids are random UUIDs, version 4): read and written, it matches none. */
const NO_CREDENTIAL = '00000000-0000-0000-0000-000000000000';

/**
 * The database work of a wrong password (`PasswordChecks.recordFailure`) for a login no account has:
 * one transaction with the same statements in the same order — lock the password row, read the
 * address's failures, write both back, record the audit event, commit — each matching no row. An
 * absent login then waits for the round trips and the commit an existing one waits for (SECURITY.md,
 * threat 9), and touches no row another request could be waiting on.
 */
export async function recordUnknownLoginFailure(
  em: EntityManager,
  audit: AuditService,
  client: ClientInfo,
  address: string,
): Promise<void> {
  await em.transactional(async (tx) => {
    await tx.findOne(PasswordCredential, NO_CREDENTIAL, {
      lockMode: LockMode.PESSIMISTIC_WRITE,
      refresh: true,
    });
    await tx.findOne(LoginFailure, { credential: NO_CREDENTIAL, address }, { refresh: true });
    await tx.nativeUpdate(
      LoginFailure,
      { credential: NO_CREDENTIAL, address },
      { failureCount: 1 },
    );
    await tx.nativeUpdate(PasswordCredential, { id: NO_CREDENTIAL }, { failureCount: 1 });
    audit.record({ type: 'login.failed', client, details: { reason: 'unknown_login' } }, tx);
    await tx.flush();
  });
}
