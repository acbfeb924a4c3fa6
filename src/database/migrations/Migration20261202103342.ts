import { Migration } from '@mikro-orm/migrations';

/**
 * The OpenID Provider: registered client applications, and what oidc-provider stores (sessions,
 * interactions, codes, tokens, grants) in one table keyed by model and id, with the columns its
 * adapter looks rows up by (grant, uid, user code) and the expiry it must honour.
 */
export class Migration20261202103342 extends Migration {
  override name = 'Migration20261202103342';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "oidc_clients" ("client_id" varchar(64) not null, "name" varchar(200) not null, "redirect_uris" text[] not null, "post_logout_redirect_uris" text[] not null, "backchannel_logout_uri" varchar(2048) null, "public" boolean not null default false, "first_party" boolean not null default false, "required_acr" varchar(64) null, "secret_hash" varchar(64) null, "disabled_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("client_id"));`,
    );
    this.addSql(
      `create table "oidc_payloads" ("model" varchar(64) not null, "id" varchar(255) not null, "payload" jsonb not null, "grant_id" varchar(255) null, "user_code" varchar(255) null, "uid" varchar(255) null, "expires_at" timestamptz null, "consumed_at" timestamptz null, primary key ("model", "id"));`,
    );
    this.addSql(`create index "oidc_payloads_expires_at_idx" on "oidc_payloads" ("expires_at");`);
    this.addSql(`create index "oidc_payloads_user_code_idx" on "oidc_payloads" ("user_code");`);
    this.addSql(`create index "oidc_payloads_uid_idx" on "oidc_payloads" ("uid");`);
    this.addSql(`create index "oidc_payloads_grant_id_idx" on "oidc_payloads" ("grant_id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "oidc_payloads" cascade;`);
    this.addSql(`drop table if exists "oidc_clients" cascade;`);
  }
}
