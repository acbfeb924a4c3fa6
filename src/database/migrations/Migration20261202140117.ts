import { Migration } from '@mikro-orm/migrations';
import { foreignKey } from './sql.js';

/**
 * Consent to applications that are not first-party, remembered per person and client until
 * revoked in «Приложения»; a person's grants found by account for that page and for revocation.
 */
export class Migration20261202140117 extends Migration {
  override name = 'Migration20261202140117';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "oidc_consents" ("id" uuid not null, "user_id" uuid not null, "client_id" varchar(64) not null, "scopes" text[] not null, "claims" text[] not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "oidc_consents" add constraint "oidc_consents_user_client_unique" unique ("user_id", "client_id");`,
    );
    this.addSql(foreignKey('oidc_consents.user_id', 'users.id', 'cascade'));
    this.addSql(foreignKey('oidc_consents.client_id', 'oidc_clients.client_id', 'cascade'));
    this.addSql(
      `create index "oidc_payloads_grant_account_idx" on "oidc_payloads" ((payload->>'accountId')) where model = 'Grant';`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index if exists "oidc_payloads_grant_account_idx";`);
    this.addSql(`drop table if exists "oidc_consents" cascade;`);
  }
}
