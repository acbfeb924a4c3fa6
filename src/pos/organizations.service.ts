import { randomUUID } from 'node:crypto';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { type User } from '../identity/user.entity.js';
import {
  type CreateOrganizationDto,
  OrganizationResponse,
  type UpdateOrganizationDto,
} from './dto/organization.dto.js';
import { Organization, OrganizationKind } from './organization.entity.js';
import { PosAccess } from './pos-access.service.js';
import { PosErrors } from './pos.texts.js';

@Injectable()
export class OrganizationsService {
  constructor(
    private readonly em: EntityManager,
    private readonly access: PosAccess,
    private readonly audit: AuditService,
  ) {}

  /** Platform operators create organisations (the API and the command line share this). */
  async create(
    actor: User | 'cli',
    dto: CreateOrganizationDto,
    client?: ClientInfo,
  ): Promise<Organization> {
    if (actor !== 'cli' && !actor.isPlatformOperator) throw PosErrors.notOperator();
    const parent = dto.parentId ? await this.em.findOne(Organization, { id: dto.parentId }) : null;
    if (dto.parentId && !parent) throw PosErrors.organizationNotFound();
    if (!parent && dto.kind === OrganizationKind.Institution) throw PosErrors.parentRequired();
    return this.em.transactional(async (em) => {
      const id = randomUUID();
      const organization = em.create(Organization, {
        id,
        name: dto.name,
        kind: dto.kind,
        parent,
        path: `${parent?.path ?? '/'}${id}/`,
      });
      this.audit.record(
        {
          type: 'pos.organization.created',
          actorUserId: actor === 'cli' ? null : actor.id,
          organizationId: organization.id,
          client,
          details: {
            name: dto.name,
            kind: dto.kind,
            parentId: parent?.id ?? null,
            via: actor === 'cli' ? 'cli' : 'api',
          },
        },
        em,
      );
      await em.flush();
      return organization;
    });
  }

  /** Every organisation the caller administers (whole subtrees) or belongs to, parents first. */
  async visible(user: User): Promise<OrganizationResponse[]> {
    const roots = await this.access.administeredRoots(user);
    let organizations: Organization[];
    if (roots === 'all') {
      organizations = await this.em.find(Organization, {}, { orderBy: { path: 'asc' } });
    } else {
      const own = (await this.access.memberships(user)).map((m) => m.organization);
      const prefixes = roots.map((root) => ({ path: { $like: `${root.path}%` } }));
      organizations = prefixes.length
        ? await this.em.find(
            Organization,
            { $or: [...prefixes, { id: { $in: own.map((o) => o.id) } }] },
            { orderBy: { path: 'asc' } },
          )
        : own.sort((a, b) => a.path.localeCompare(b.path));
    }
    return organizations.map((organization) => OrganizationResponse.of(organization));
  }

  /** Where the admin pages start: the roots of the caller's subtrees (tree roots for an operator). */
  async adminRoots(user: User): Promise<OrganizationResponse[]> {
    const roots = await this.access.administeredRoots(user);
    const organizations =
      roots === 'all'
        ? await this.em.find(Organization, { parent: null }, { orderBy: { name: 'asc' } })
        : roots;
    return organizations.map((organization) => OrganizationResponse.of(organization));
  }

  /** The way down to `id` from the top of the caller's reach (for breadcrumbs), `id` last. */
  async trail(user: User, id: string): Promise<OrganizationResponse[]> {
    const organization = await this.access.administered(user, id);
    const roots = await this.access.administeredRoots(user);
    const ids = organization.path.split('/').filter(Boolean);
    const ancestors = await this.em.find(
      Organization,
      { id: { $in: ids } },
      { orderBy: { path: 'asc' } },
    );
    return ancestors
      .filter((a) => roots === 'all' || roots.some((root) => root.contains(a)))
      .map((a) => OrganizationResponse.of(a));
  }

  async details(user: User, id: string): Promise<OrganizationResponse> {
    return OrganizationResponse.of(await this.access.administered(user, id));
  }

  async children(user: User, id: string): Promise<OrganizationResponse[]> {
    const organization = await this.access.administered(user, id);
    const children = await this.em.find(
      Organization,
      { parent: organization },
      { orderBy: { name: 'asc' } },
    );
    return children.map((child) => OrganizationResponse.of(child));
  }

  async update(
    user: User,
    id: string,
    dto: UpdateOrganizationDto,
    client: ClientInfo,
  ): Promise<OrganizationResponse> {
    const organization = await this.access.administered(user, id);
    const changed: string[] = [];
    if (dto.name !== undefined && dto.name !== organization.name) {
      organization.name = dto.name;
      changed.push('name');
    }
    if (dto.officialSiteUrl !== undefined && dto.officialSiteUrl !== organization.officialSiteUrl) {
      organization.officialSiteUrl = dto.officialSiteUrl;
      // A check of the old address says nothing about the new one: «не проверен» until the next.
      organization.widgetCheckState = null;
      organization.widgetCheckedAt = null;
      organization.widgetCheckReason = null;
      changed.push('officialSiteUrl');
    }
    if (changed.length > 0) {
      this.audit.record({
        type: 'pos.organization.updated',
        actorUserId: user.id,
        organizationId: organization.id,
        client,
        details: { fields: changed },
      });
      await this.em.flush();
    }
    return OrganizationResponse.of(organization);
  }
}
