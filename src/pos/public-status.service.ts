import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { BoundedMap } from '../common/bounded-map.js';
import { type ClientInfo } from '../common/client-info.js';
import { SECRET_PATTERN, newSecret } from '../common/secrets.js';
import { AppConfig } from '../config/app-config.js';
import { type User } from '../identity/user.entity.js';
import { Organization, OrganizationKind } from './organization.entity.js';
import { PosAccess } from './pos-access.service.js';
import { PosErrors } from './pos.texts.js';
import { PublicStatus } from './public-status.entity.js';
import { statusTotals, type StatusTotals, widgetState } from './report-table.js';
import { ReportService } from './report.service.js';

/** How long a published page's numbers may be old (in the process; HTTP caches revalidate). */
export const PUBLIC_STATUS_MAX_AGE_S = 60;
const CACHED_SUBTREES = 100;

/** One line of the public page: nothing about any person. */
export interface PublicStatusRow {
  name: string;
  lkoNumber: string;
  depth: number;
  /** «Личный кабинет организации готов к работе» confirmed. */
  confirmed: boolean;
  widget: string;
  accounts: { invited: number; registered: number; confirmed: number };
}

export interface PublicStatusView {
  authority: string;
  rows: PublicStatusRow[];
  totals: StatusTotals;
  updatedAt: Date;
}

export interface PublicStatusLink {
  url: string;
  snippet: string;
  publishedAt: Date;
}

/**
 * «Статус подключения учреждений» on the administration's site: an authority's administrator
 * publishes the subtree's status at an unguessable address, can take it down (404 at once) or
 * replace the address. The address is checked against the database on every request, so
 * revocation is immediate; only the numbers are cached, for a minute, per subtree.
 */
@Injectable()
export class PublicStatusService {
  private readonly cache = new BoundedMap<string, PublicStatusView>(CACHED_SUBTREES);

  constructor(
    private readonly em: EntityManager,
    private readonly access: PosAccess,
    private readonly reports: ReportService,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
  ) {}

  async current(user: User, organizationId: string): Promise<PublicStatusLink | null> {
    const organization = await this.access.administered(user, organizationId);
    const published = await this.em.findOne(PublicStatus, { organization });
    return published && this.linkOf(published);
  }

  /** Publishes (or, with `regenerate`, moves to a new address) the organisation's status. */
  async publish(
    user: User,
    organizationId: string,
    client: ClientInfo,
    regenerate = false,
  ): Promise<PublicStatusLink> {
    const organization = await this.access.administered(user, organizationId);
    if (organization.kind !== OrganizationKind.Authority)
      throw PosErrors.publicStatusAuthorityOnly();
    const published = await this.em.transactional(async (em) => {
      // The organisation's row serialises two administrators publishing at once.
      await em.findOneOrFail(
        Organization,
        { id: organization.id },
        {
          lockMode: LockMode.PESSIMISTIC_WRITE,
        },
      );
      let row = await em.findOne(PublicStatus, { organization: organization.id });
      if (row && !regenerate) return row;
      const { secret: token } = newSecret();
      if (row) {
        row.token = token;
        row.publishedAt = new Date();
        row.publishedBy = user.id;
      } else {
        row = em.create(PublicStatus, { organization, token, publishedBy: user.id });
      }
      this.audit.record(
        {
          type: regenerate ? 'pos.public_status.regenerated' : 'pos.public_status.published',
          actorUserId: user.id,
          organizationId: organization.id,
          client,
        },
        em,
      );
      return row;
    });
    return this.linkOf(published);
  }

  async revoke(user: User, organizationId: string, client: ClientInfo): Promise<void> {
    const organization = await this.access.administered(user, organizationId);
    await this.em.transactional(async (em) => {
      const deleted = await em.nativeDelete(PublicStatus, { organization });
      if (deleted === 0) return;
      this.audit.record(
        {
          type: 'pos.public_status.revoked',
          actorUserId: user.id,
          organizationId: organization.id,
          client,
        },
        em,
      );
    });
    this.cache.delete(organization.id);
  }

  /** The public page's content, or null for an address that is not (or no longer) published. */
  async view(token: string): Promise<PublicStatusView | null> {
    if (!SECRET_PATTERN.test(token)) return null;
    const published = await this.em.findOne(
      PublicStatus,
      { token },
      { populate: ['organization'] },
    );
    if (!published) return null;
    const organization = published.organization;
    const cached = this.cache.get(organization.id);
    if (cached && Date.now() - cached.updatedAt.getTime() < PUBLIC_STATUS_MAX_AGE_S * 1000)
      return cached;
    const rows = await this.reports.subtreeStatus(organization);
    const view: PublicStatusView = {
      authority: organization.name,
      rows: rows.map((row) => ({
        name: row.name,
        lkoNumber: row.lkoNumber,
        depth: row.depth,
        confirmed: row.lkoReady,
        widget: widgetState(row).text,
        accounts: {
          invited: row.accounts.invited,
          registered: row.accounts.registered,
          confirmed: row.accounts.confirmed,
        },
      })),
      totals: statusTotals(rows),
      updatedAt: new Date(),
    };
    this.cache.delete(organization.id);
    this.cache.set(organization.id, view);
    return view;
  }

  private linkOf(published: PublicStatus): PublicStatusLink {
    const url = `${this.config.publicUrl}/public/status/${published.token}`;
    return {
      url,
      publishedAt: published.publishedAt,
      snippet: `<iframe src="${url}" title="Статус подключения учреждений к платформе обратной связи" width="100%" height="600" style="border:0" loading="lazy"></iframe>`,
    };
  }
}
