import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { lockAccountWhere } from '../identity/account-lock.js';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { normalizeLogin } from '../identity/normalize.js';
import { User, UserStatus } from '../identity/user.entity.js';
import { SessionErrors } from '../sessions/sessions.texts.js';
import { promotionRisks } from './operators.service.js';
import { PosErrors } from './pos.texts.js';

/**
 * The platform operators as the operator's page manages them: list, add an existing account,
 * remove one. Adding follows the command line's rule (operators.service.ts): an account that
 * someone else could have prepared is refused and the refusal audited; the page has no
 * `--reset-credentials`. There is always at least one operator left.
 */
@Injectable()
export class OperatorRoster {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
  ) {}

  async list(): Promise<User[]> {
    return this.em.find(User, { isPlatformOperator: true }, { orderBy: { login: 'asc' } });
  }

  /** Makes an existing, active account an operator; its sessions end so it starts afresh. */
  async grant(actor: User, loginInput: string, client: ClientInfo): Promise<User> {
    if (!actor.isPlatformOperator) throw PosErrors.notOperator();
    const login = normalizeLogin(loginInput);
    let refusal: string[] | null = null;
    try {
      return await this.em.transactional(async (em) => {
        const user = await lockAccountWhere(em, 'login', login);
        if (!user) throw SessionErrors.userNotFound(login);
        if (user.isPlatformOperator) throw PosErrors.alreadyOperator(login);
        if (user.status !== UserStatus.Active) throw PosErrors.accountNotActive(login);
        const reasons = await promotionRisks(em, user);
        if (reasons.length > 0) {
          refusal = reasons;
          throw PosErrors.promotionRefusedOnPage(login, reasons);
        }
        user.isPlatformOperator = true;
        // A session opened before the promotion does not carry the new powers.
        user.sessionsValidAfter = new Date();
        this.audit.record(
          {
            type: 'pos.operator.created',
            actorUserId: actor.id,
            targetUserId: user.id,
            client,
            details: { login, created: false, promoted: true, via: 'web' },
          },
          em,
        );
        await em.flush();
        return user;
      });
    } catch (error) {
      if (!refusal) throw error;
      return this.audit.refuse(
        {
          type: 'pos.operator.promotion_refused',
          actorUserId: actor.id,
          client,
          details: { login, reasons: refusal, via: 'web' },
        },
        error,
      );
    }
  }

  /**
   * Takes the operator flag away. Every operator row is locked first, so two operators removing
   * each other at the same moment cannot leave the platform with none.
   */
  async revoke(actor: User, userId: string, client: ClientInfo): Promise<User> {
    if (!actor.isPlatformOperator) throw PosErrors.notOperator();
    if (actor.id === userId) throw PosErrors.operatorSelf();
    return this.em.transactional(async (em) => {
      // `for no key update`, as lockAccountWhere takes it: a login in flight can still finish.
      const operators = await em.execute<{ id: string }[]>(
        'select id from users where is_platform_operator order by id for no key update',
      );
      if (!operators.some((row) => row.id === userId)) throw PosErrors.operatorNotFound();
      if (operators.length <= 1) throw PosErrors.lastOperator();
      const user = await em.findOneOrFail(User, { id: userId }, { refresh: true });
      user.isPlatformOperator = false;
      this.audit.record(
        {
          type: 'pos.operator.removed',
          actorUserId: actor.id,
          targetUserId: user.id,
          client,
          details: { login: user.login, via: 'web' },
        },
        em,
      );
      await em.flush();
      return user;
    });
  }
}
