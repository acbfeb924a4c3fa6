import { Migration } from '@mikro-orm/migrations';
import { foreignKey } from './sql.js';

/**
 * An authority's published connection status: one address per organisation, unique, dropped
 * with the organisation.
 */
export class Migration20261202171901 extends Migration {
  override name = 'Migration20261202171901';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "pos_public_statuses" ("id" uuid not null, "organization_id" uuid not null, "token" varchar(43) not null, "published_by" uuid not null, "published_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "pos_public_statuses" add constraint "pos_public_statuses_organization_unique" unique ("organization_id");`,
    );
    this.addSql(
      `alter table "pos_public_statuses" add constraint "pos_public_statuses_token_unique" unique ("token");`,
    );
    this.addSql(
      foreignKey('pos_public_statuses.organization_id', 'pos_organizations.id', 'cascade'),
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "pos_public_statuses" cascade;`);
  }
}
