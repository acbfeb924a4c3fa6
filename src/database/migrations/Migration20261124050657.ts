import { Migration } from '@mikro-orm/migrations';
import { dropForeignKey, foreignKey } from './sql.js';

export class Migration20261124050657 extends Migration {
  override name = 'Migration20261124050657';

  override up(): void | Promise<void> {
    this.addSql(`create type "user_status" as enum ('active', 'blocked', 'archived');`);
    this.addSql(`create type "auth_method" as enum ('pwd', 'gosuslugi');`);
    this.addSql(
      `create table "audit_events" ("id" uuid not null, "type" varchar(64) not null, "actor_user_id" uuid null, "target_user_id" uuid null, "organization_id" uuid null, "ip" varchar(64) null, "user_agent" varchar(512) null, "request_id" varchar(64) null, "details" jsonb not null, "created_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(`create index "audit_events_type_idx" on "audit_events" ("type", "created_at");`);
    this.addSql(
      `create index "audit_events_target_idx" on "audit_events" ("target_user_id", "created_at");`,
    );

    this.addSql(
      `create table "users" ("id" uuid not null, "login" varchar(64) not null, "email" varchar(254) null, "pending_email" varchar(254) null, "phone" varchar(16) null, "last_name" varchar(100) null, "first_name" varchar(100) null, "middle_name" varchar(100) null, "status" "user_status" not null default 'active', "sessions_valid_after" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(`alter table "users" add constraint "users_login_unique" unique ("login");`);
    this.addSql(`alter table "users" add constraint "users_email_unique" unique ("email");`);

    this.addSql(
      `create table "sessions" ("id" uuid not null, "token_hash" varchar(64) not null, "user_id" uuid not null, "method" "auth_method" not null, "created_at" timestamptz not null, "last_seen_at" timestamptz not null, "idle_expires_at" timestamptz not null, "absolute_expires_at" timestamptz not null, "revoked_at" timestamptz null, "revoked_reason" varchar(32) null, "ip" varchar(64) null, "user_agent" varchar(512) null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "sessions" add constraint "sessions_token_hash_unique" unique ("token_hash");`,
    );
    this.addSql(`create index "sessions_user_idx" on "sessions" ("user_id");`);

    this.addSql(
      `create table "password_credentials" ("id" uuid not null, "user_id" uuid not null, "hash" text not null, "failure_count" int not null default 0, "last_failure_at" timestamptz null, "locked_until" timestamptz null, "changed_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "password_credentials" add constraint "password_credentials_user_unique" unique ("user_id");`,
    );

    this.addSql(
      `create table "federated_identities" ("id" uuid not null, "user_id" uuid not null, "provider" varchar(32) not null, "issuer" text not null, "subject" text not null, "claims" jsonb not null, "linked_at" timestamptz not null, "last_login_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "federated_identities" add constraint "federated_identities_user_provider_unique" unique ("user_id", "provider");`,
    );
    this.addSql(
      `alter table "federated_identities" add constraint "federated_identities_issuer_subject_unique" unique ("issuer", "subject");`,
    );

    this.addSql(foreignKey('sessions.user_id', 'users.id', 'cascade'));
    this.addSql(foreignKey('password_credentials.user_id', 'users.id', 'cascade'));
    this.addSql(foreignKey('federated_identities.user_id', 'users.id', 'cascade'));
  }

  override down(): void | Promise<void> {
    this.addSql(dropForeignKey('sessions.user_id'));
    this.addSql(dropForeignKey('password_credentials.user_id'));
    this.addSql(dropForeignKey('federated_identities.user_id'));

    this.addSql(`drop table if exists "audit_events" cascade;`);
    this.addSql(`drop table if exists "users" cascade;`);
    this.addSql(`drop table if exists "sessions" cascade;`);
    this.addSql(`drop table if exists "password_credentials" cascade;`);
    this.addSql(`drop table if exists "federated_identities" cascade;`);

    this.addSql(`drop type "user_status";`);
    this.addSql(`drop type "auth_method";`);
  }
}
