import { Migration } from '@mikro-orm/migrations';
import { foreignKey } from './sql.js';

/**
 * A second factor for staff: TOTP credentials (sealed secret, last used step, failure
 * counters), single-use recovery codes (hashed), the pending login step between a right password
 * and a session, and the second factor a session proved (for `amr`).
 */
export class Migration20261202135901 extends Migration {
  override name = 'Migration20261202135901';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "mfa_recovery_codes" ("id" uuid not null, "user_id" uuid not null, "code_hash" varchar(64) not null, "used_at" timestamptz null, "created_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(`create index "mfa_recovery_codes_user_idx" on "mfa_recovery_codes" ("user_id");`);
    this.addSql(
      `create table "mfa_credentials" ("id" uuid not null, "user_id" uuid not null, "kind" varchar(16) not null default 'totp', "sealed_secret" text not null, "confirmed_at" timestamptz null, "last_used_step" bigint null, "failure_count" int not null default 0, "last_failure_at" timestamptz null, "locked_until" timestamptz null, "created_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "mfa_credentials" add constraint "mfa_credentials_user_kind_unique" unique ("user_id", "kind");`,
    );
    this.addSql(
      `create table "login_challenges" ("id" uuid not null, "token_hash" varchar(64) not null, "user_id" uuid not null, "purpose" varchar(16) not null, "failed_attempts" int not null default 0, "created_at" timestamptz not null, "expires_at" timestamptz not null, "ended_at" timestamptz null, "ip" varchar(64) null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "login_challenges" add constraint "login_challenges_token_hash_unique" unique ("token_hash");`,
    );
    this.addSql(`create index "login_challenges_user_idx" on "login_challenges" ("user_id");`);
    this.addSql(`alter table "sessions" add "second_factor" varchar(16) null;`);
    this.addSql(foreignKey('mfa_recovery_codes.user_id', 'users.id', 'cascade'));
    this.addSql(foreignKey('mfa_credentials.user_id', 'users.id', 'cascade'));
    this.addSql(foreignKey('login_challenges.user_id', 'users.id', 'cascade'));
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "mfa_recovery_codes" cascade;`);
    this.addSql(`drop table if exists "mfa_credentials" cascade;`);
    this.addSql(`drop table if exists "login_challenges" cascade;`);
    this.addSql(`alter table "sessions" drop column "second_factor";`);
  }
}
