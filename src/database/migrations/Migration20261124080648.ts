import { Migration } from '@mikro-orm/migrations';
import { foreignKey } from './sql.js';

/**
 * Account link tokens: e-mail verification (24 h) and password recovery (1 h). Only the SHA-256
 * of a token is stored. (The generator also re-proposed changes that Migration20261124054726
 * already made by hand — enum values, two columns, the ЛКО default — whose snapshot had lagged;
 * they are left out here and the snapshot is now current.)
 */
export class Migration20261124080648 extends Migration {
  override name = 'Migration20261124080648';

  override up(): void | Promise<void> {
    this.addSql(`create type "account_token_purpose" as enum ('verify_email', 'recovery');`);
    this.addSql(
      `create table "account_tokens" ("id" uuid not null, "user_id" uuid not null, "purpose" "account_token_purpose" not null, "token_hash" varchar(64) not null, "email" varchar(254) not null, "expires_at" timestamptz not null, "used_at" timestamptz null, "revoked_at" timestamptz null, "created_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "account_tokens" add constraint "account_tokens_token_hash_unique" unique ("token_hash");`,
    );
    this.addSql(
      `create index "account_tokens_user_purpose_idx" on "account_tokens" ("user_id", "purpose", "created_at");`,
    );
    this.addSql(foreignKey('account_tokens.user_id', 'users.id', 'cascade'));
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "account_tokens" cascade;`);
    this.addSql(`drop type "account_token_purpose";`);
  }
}
