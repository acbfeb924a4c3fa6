import { Migration } from '@mikro-orm/migrations';
import { foreignKey } from './sql.js';

/**
 * Passkeys as a second factor: the keys of an account (credential id unique across
 * accounts, public key, signature counter, transports, name, created and last used), and the
 * single-use WebAuthn challenges bound to an account, a purpose and a session or login step.
 */
export class Migration20261202172100 extends Migration {
  override name = 'Migration20261202172100';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "passkeys" ("id" uuid not null, "user_id" uuid not null, "credential_id" varchar(1400) not null, "public_key" text not null, "counter" bigint not null default 0, "transports" text[] not null default '{}', "name" varchar(64) not null, "created_at" timestamptz not null, "last_used_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "passkeys" add constraint "passkeys_credential_id_unique" unique ("credential_id");`,
    );
    this.addSql(`create index "passkeys_user_idx" on "passkeys" ("user_id");`);
    this.addSql(foreignKey('passkeys.user_id', 'users.id', 'cascade'));
    this.addSql(
      `create table "passkey_challenges" ("id" uuid not null, "challenge" varchar(64) not null, "user_id" uuid not null, "purpose" varchar(16) not null, "bound_to" uuid not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "passkey_challenges" add constraint "passkey_challenges_challenge_unique" unique ("challenge");`,
    );
    this.addSql(`create index "passkey_challenges_user_idx" on "passkey_challenges" ("user_id");`);
    this.addSql(foreignKey('passkey_challenges.user_id', 'users.id', 'cascade'));
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "passkey_challenges" cascade;`);
    this.addSql(`drop table if exists "passkeys" cascade;`);
  }
}
