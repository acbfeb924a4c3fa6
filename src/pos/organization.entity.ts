import { randomUUID } from 'node:crypto';
import { type Opt, type Rel } from '@mikro-orm/core';
import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';

export type WidgetCheckState = 'found' | 'not_found' | 'site_unavailable';

export enum OrganizationKind {
  /** Орган администрации. */
  Authority = 'authority',
  /** Подведомственное учреждение. */
  Institution = 'institution',
}

/**
 * ЛКО — an organisation account. Organisations form a tree; `path` lists the ids from the root
 * down to this one (`/<root>/…/<id>/`), so a subtree is one indexed prefix match.
 */
@Entity({ tableName: 'pos_organizations' })
@Index({
  name: 'pos_organizations_path_idx',
  expression:
    'create index "pos_organizations_path_idx" on "pos_organizations" ("path" text_pattern_ops)',
})
export class Organization {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'string', length: 500 })
  name!: string;

  @Enum({ items: () => OrganizationKind, nativeEnumName: 'pos_organization_kind' })
  kind!: OrganizationKind;

  @ManyToOne({ entity: () => Organization, nullable: true, deleteRule: 'restrict' })
  parent: Rel<Organization> | null = null;

  @Property({ type: 'text' })
  path!: string;

  /** The public ЛКО number (used in the widget code), from a database sequence. */
  @Property({
    type: 'bigint',
    unique: 'pos_organizations_lko_number_unique',
    defaultRaw: `nextval('pos_lko_number_seq')`,
  })
  lkoNumber!: string & Opt;

  @Property({ type: 'string', length: 500, nullable: true })
  officialSiteUrl: string | null = null;

  /** «Личный кабинет организации готов к работе», as confirmed by one of its members. */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  readyConfirmedAt: Date | null = null;

  @Property({ type: 'uuid', nullable: true })
  readyConfirmedBy: string | null = null;

  @Property({ type: 'string', length: 32, nullable: true })
  widgetVariant: string | null = null;

  @Property({ type: 'string', length: 200, nullable: true })
  widgetBannerText: string | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  widgetGeneratedAt: Date | null = null;

  /** The last placement check: the widget code with this ЛКО number on the official site? */
  @Property({ type: 'string', length: 32, nullable: true })
  widgetCheckState: WidgetCheckState | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  widgetCheckedAt: Date | null = null;

  /** Why the site was unavailable (site-fetch.ts, UNAVAILABLE_REASONS). */
  @Property({ type: 'string', length: 32, nullable: true })
  widgetCheckReason: string | null = null;

  /** When an administrator last asked for a check now (once a minute per organisation). */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  widgetCheckRequestedAt: Date | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date & Opt = new Date();

  /** True when `other` is this organisation or lies below it. */
  contains(other: Organization): boolean {
    return other.path.startsWith(this.path);
  }
}
