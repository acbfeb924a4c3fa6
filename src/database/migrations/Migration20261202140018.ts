import { Migration } from '@mikro-orm/migrations';

/**
 * The OpenID Provider's sessions tied to ours: which of our sessions signed in to which client,
 * under which `sid` and grant, so that ending our session ends theirs (back-channel logout).
 */
export class Migration20261202140018 extends Migration {
  override name = 'Migration20261202140018';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "oidc_session_links" ("session_id" uuid not null, "client_id" varchar(64) not null, "sid" varchar(255) not null, "account_id" uuid not null, "grant_id" varchar(255) null, "provider_session_uid" varchar(255) null, "created_at" timestamptz not null, primary key ("session_id", "client_id", "sid"));`,
    );
    this.addSql(
      `create index "oidc_session_links_account_idx" on "oidc_session_links" ("account_id");`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "oidc_session_links" cascade;`);
  }
}
