import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { type User } from '../identity/user.entity.js';
import { Organization, OrganizationKind } from './organization.entity.js';
import { PosErrors } from './pos.texts.js';

/**
 * The whole organisation tree as the platform operator shapes it: read in tree order, and an
 * organisation moved under another parent (its subtree follows).
 */
@Injectable()
export class OrganizationTree {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
  ) {}

  /** Every organisation, parents first (by path). */
  async all(actor: User): Promise<Organization[]> {
    if (!actor.isPlatformOperator) throw PosErrors.notOperator();
    return this.em.find(Organization, {}, { orderBy: { path: 'asc' } });
  }

  /**
   * Moves `id` under `parentId` (null: to the top level, authorities only). Refused under its own
   * subtree, which would cut it off the tree. Moves are serialised by a transaction-level advisory
   * lock: two moves checked at once could each pass the check and together make a loop.
   */
  async move(
    actor: User,
    id: string,
    parentId: string | null,
    client: ClientInfo,
  ): Promise<Organization> {
    if (!actor.isPlatformOperator) throw PosErrors.notOperator();
    return this.em.transactional(async (em) => {
      await em.execute(`select pg_advisory_xact_lock(hashtext('pos_organizations.move'))`);
      const organization = await em.findOne(Organization, { id }, { refresh: true });
      if (!organization) throw PosErrors.organizationNotFound();
      const parent = parentId
        ? await em.findOne(Organization, { id: parentId }, { refresh: true })
        : null;
      if (parentId && !parent) throw PosErrors.organizationNotFound();
      if (parent && organization.contains(parent)) throw PosErrors.moveIntoOwnSubtree();
      if (!parent && organization.kind === OrganizationKind.Institution)
        throw PosErrors.parentRequired();
      const from = organization.parent?.id ?? null;
      if (from === (parent?.id ?? null)) return organization;
      const oldPath = organization.path;
      const newPath = `${parent?.path ?? '/'}${organization.id}/`;
      // The subtree's paths in one statement; the organisation's own row through the entity.
      const moved = await em.execute<{ id: string }[]>(
        `update pos_organizations set path = ? || substr(path, ?) where path like ? and id <> ? returning id`,
        [newPath, oldPath.length + 1, `${oldPath}%`, organization.id],
      );
      organization.parent = parent;
      organization.path = newPath;
      this.audit.record(
        {
          type: 'pos.organization.updated',
          actorUserId: actor.id,
          organizationId: organization.id,
          client,
          details: {
            fields: ['parent'],
            fromParentId: from,
            toParentId: parent?.id ?? null,
            descendants: moved.length,
            via: 'web',
          },
        },
        em,
      );
      await em.flush();
      return organization;
    });
  }
}
