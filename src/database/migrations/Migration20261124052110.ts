import { Migration } from '@mikro-orm/migrations';

export class Migration20261124052110 extends Migration {
  override name = 'Migration20261124052110';

  override up(): void | Promise<void> {
    this.addSql(`create type "login_purpose" as enum ('login', 'link');`);
    this.addSql(
      `create table "login_transactions" ("id" uuid not null, "handle_hash" varchar(64) not null, "state" varchar(64) not null, "nonce" varchar(64) not null, "code_verifier" varchar(128) not null, "purpose" "login_purpose" not null, "user_id" uuid null, "session_id" uuid null, "return_to" varchar(512) null, "created_at" timestamptz not null, "expires_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "login_transactions" add constraint "login_transactions_handle_hash_unique" unique ("handle_hash");`,
    );
    this.addSql(
      `create index "login_transactions_expires_idx" on "login_transactions" ("expires_at");`,
    );

    // Existing sessions last authenticated when they were created.
    this.addSql(`alter table "sessions" add "authenticated_at" timestamptz null;`);
    this.addSql(`update "sessions" set "authenticated_at" = "created_at";`);
    this.addSql(`alter table "sessions" alter column "authenticated_at" set not null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "login_transactions" cascade;`);

    this.addSql(`alter table "sessions" drop column "authenticated_at";`);

    this.addSql(`drop type "login_purpose";`);
  }
}
