import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { lockSessionAccount } from '../sessions/session-lock.js';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { AppConfig } from '../config/app-config.js';
import { FederatedIdentity } from '../identity/federated-identity.entity.js';
import { LinkErrors, type VerifiedIdentity } from '../identity/identity-links.service.js';
import { takeProviderNames } from '../identity/user.entity.js';
import { type Session } from '../sessions/session.entity.js';
import { GOSUSLUGI_PROVIDER, GosuslugiErrors } from './gosuslugi.texts.js';
import {
  IDENTITY_PROVIDER_CLIENT,
  type IdentityProviderClient,
  ProviderError,
} from './provider-client.js';

/** The linked identity's data, read again from Госуслуги without a round trip (offline access). */
@Injectable()
export class GosuslugiRefresh {
  private readonly logger = new Logger('Gosuslugi');

  constructor(
    private readonly em: EntityManager,
    @Inject(IDENTITY_PROVIDER_CLIENT) private readonly provider: IdentityProviderClient,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
  ) {}

  /**
   * «Обновить данные из Госуслуг» with offline access: the stored refresh token is used (single
   * use at ЕСИА) and replaced; a token ЕСИА refuses is forgotten, unless a concurrent refresh has
   * already replaced it. The snapshot and the names change only if the account still holds the link.
   */
  async refreshIdentity(session: Session, client: ClientInfo): Promise<void> {
    const identity = await this.em.findOne(FederatedIdentity, {
      user: session.user,
      provider: GOSUSLUGI_PROVIDER,
    });
    if (!identity) throw LinkErrors.notLinked();
    const used = identity.refreshTokenSealed;
    if (!this.provider.refresh || !used || this.config.gosuslugi.esia?.accessType !== 'offline')
      throw GosuslugiErrors.refreshUnavailable();
    // ЕСИА's refresh tokens are single use: the new one replaces the used one as soon as it comes,
    // and only if no concurrent refresh replaced it first.
    const keep = async (sealed: string) => {
      await this.em.nativeUpdate(
        FederatedIdentity,
        { id: identity.id, refreshTokenSealed: used },
        { refreshTokenSealed: sealed },
      );
    };
    let fresh: VerifiedIdentity;
    try {
      fresh = await this.provider.refresh(identity, keep);
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      this.logger.warn({ err: error.cause, providerCode: error.code }, 'Госуслуги refresh refused');
      if (error.kind === 'unavailable') throw GosuslugiErrors.unavailable();
      await this.em.nativeUpdate(
        FederatedIdentity,
        { id: identity.id, refreshTokenSealed: used },
        { refreshTokenSealed: null },
      );
      return this.audit.refuse(
        {
          type: 'gosuslugi.refresh_refused',
          actorUserId: session.user.id,
          targetUserId: session.user.id,
          client,
          details: { reason: error.code },
        },
        GosuslugiErrors.loginRequired(),
      );
    }
    await this.em.transactional(async (em) => {
      const account = await lockSessionAccount(em, session.user.id, session);
      const current = await em.findOne(FederatedIdentity, identity.id, { refresh: true });
      // Unlinked meanwhile: what came back belongs to nobody here.
      if (current?.user.id !== account.id) throw LinkErrors.notLinked();
      // The token was kept already (keep); the snapshot follows.
      current.refreshFrom({ claims: fresh.claims, unread: fresh.unread });
      takeProviderNames(account, fresh.claims);
      this.audit.recordOwn(
        account.id,
        { type: 'gosuslugi.refreshed', client, details: { identityId: current.id } },
        em,
      );
      await em.flush();
    });
  }
}
