import { Migration } from '@mikro-orm/migrations';
import { dropForeignKey, foreignKey } from './sql.js';

export class Migration20261124054726 extends Migration {
  override name = 'Migration20261124054726';

  override up(): void | Promise<void> {
    // ЛКО numbers are public and never reused.
    this.addSql(`create sequence "pos_lko_number_seq" start with 100001;`);
    this.addSql(`create type "pos_organization_kind" as enum ('authority', 'institution');`);
    this.addSql(
      `create type "pos_membership_status" as enum ('invited', 'registered', 'confirmed', 'archived');`,
    );
    this.addSql(
      `create type "pos_delivery_state" as enum ('queued', 'sent', 'retrying', 'failed');`,
    );
    this.addSql(
      `create table "pos_organizations" ("id" uuid not null, "name" varchar(500) not null, "kind" "pos_organization_kind" not null, "parent_id" uuid null, "path" text not null, "lko_number" bigint not null default nextval('pos_lko_number_seq'), "official_site_url" varchar(500) null, "ready_confirmed_at" timestamptz null, "ready_confirmed_by" uuid null, "widget_variant" varchar(32) null, "widget_banner_text" varchar(200) null, "widget_generated_at" timestamptz null, "created_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "pos_organizations" add constraint "pos_organizations_lko_number_unique" unique ("lko_number");`,
    );
    this.addSql(
      `create index "pos_organizations_path_idx" on "pos_organizations" ("path" text_pattern_ops);`,
    );

    this.addSql(
      `create table "pos_memberships" ("id" uuid not null, "organization_id" uuid not null, "email" varchar(254) not null, "last_name" varchar(100) not null, "first_name" varchar(100) not null, "middle_name" varchar(100) null, "position" varchar(200) null, "roles" text[] not null, "status" "pos_membership_status" not null default 'invited', "user_id" uuid null, "training_confirmed_at" timestamptz null, "confirmed_at" timestamptz null, "invited_by" uuid null, "delivery_state" "pos_delivery_state" null, "delivery_updated_at" timestamptz null, "delivery_error" varchar(300) null, "status_before_archive" "pos_membership_status" null, "archived_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(`create index "pos_memberships_user_idx" on "pos_memberships" ("user_id");`);
    this.addSql(
      `create index "pos_memberships_organization_idx" on "pos_memberships" ("organization_id", "status");`,
    );
    // The platform demands an individual address per live account; an archived one frees it.
    this.addSql(
      `create unique index "pos_memberships_live_email_unique" on "pos_memberships" ("email") where "status" <> 'archived';`,
    );
    this.addSql(
      `create unique index "pos_memberships_live_user_unique" on "pos_memberships" ("organization_id", "user_id") where "status" <> 'archived' and "user_id" is not null;`,
    );
    this.addSql(
      `alter table "pos_memberships" add constraint "pos_memberships_roles_check" check (cardinality("roles") > 0 and "roles" <@ array['admin', 'moderator', 'coordinator', 'executor', 'head', 'curator', 'intake_operator']::text[]);`,
    );

    this.addSql(
      `create table "pos_invitations" ("id" uuid not null, "membership_id" uuid not null, "token_hash" varchar(64) not null, "expires_at" timestamptz not null, "accepted_at" timestamptz null, "revoked_at" timestamptz null, "revoked_reason" varchar(32) null, "created_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "pos_invitations" add constraint "pos_invitations_token_hash_unique" unique ("token_hash");`,
    );
    this.addSql(
      `create index "pos_invitations_membership_idx" on "pos_invitations" ("membership_id", "created_at");`,
    );
    // At most one live link per account: a re-send revokes the old one first.
    this.addSql(
      `create unique index "pos_invitations_live_unique" on "pos_invitations" ("membership_id") where "accepted_at" is null and "revoked_at" is null;`,
    );

    this.addSql(`alter type "login_purpose" add value if not exists 'invite' after 'link';`);
    this.addSql(
      `alter type "login_purpose" add value if not exists 'link_confirm' after 'invite';`,
    );
    this.addSql(`alter table "login_transactions" add "invitation_id" uuid null;`);
    this.addSql(`alter table "login_transactions" add "identity" jsonb null;`);

    this.addSql(`alter table "users" add "is_platform_operator" boolean not null default false;`);

    // The mail outbox (its delivery jobs live in pg-boss's own schema).
    this.addSql(
      `create type "mail_status" as enum ('queued', 'sent', 'retrying', 'failed', 'cancelled');`,
    );
    this.addSql(
      `create table "mail_messages" ("id" uuid not null, "to" varchar(254) not null, "subject" varchar(300) not null, "text" text not null, "html" text not null, "status" "mail_status" not null default 'queued', "attempts" int not null default 0, "last_error" varchar(300) null, "membership_id" uuid null, "invitation_id" uuid null, "created_at" timestamptz not null, "sent_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(`create index "mail_messages_created_idx" on "mail_messages" ("created_at");`);
    this.addSql(
      `create index "mail_messages_membership_idx" on "mail_messages" ("membership_id", "created_at");`,
    );

    this.addSql(foreignKey('pos_organizations.parent_id', 'pos_organizations.id', 'restrict'));
    this.addSql(foreignKey('pos_memberships.organization_id', 'pos_organizations.id', 'restrict'));
    this.addSql(foreignKey('pos_memberships.user_id', 'users.id', 'restrict'));
    this.addSql(foreignKey('pos_invitations.membership_id', 'pos_memberships.id', 'cascade'));
  }

  override down(): void | Promise<void> {
    this.addSql(dropForeignKey('pos_organizations.parent_id'));
    this.addSql(dropForeignKey('pos_memberships.organization_id'));
    this.addSql(dropForeignKey('pos_invitations.membership_id'));

    this.addSql(`drop table if exists "pos_organizations" cascade;`);
    this.addSql(`drop table if exists "pos_memberships" cascade;`);
    this.addSql(`drop table if exists "pos_invitations" cascade;`);
    this.addSql(`drop table if exists "mail_messages" cascade;`);
    this.addSql(`drop type "mail_status";`);

    this.addSql(`alter table "login_transactions" drop column "invitation_id";`);
    this.addSql(`alter table "login_transactions" drop column "identity";`);

    this.addSql(`alter table "users" drop column "is_platform_operator";`);

    this.addSql(`drop type "pos_organization_kind";`);
    this.addSql(`drop type "pos_membership_status";`);
    this.addSql(`drop type "pos_delivery_state";`);
    this.addSql(`drop sequence "pos_lko_number_seq";`);
    // PostgreSQL cannot drop an enum value: 'invite' and 'link_confirm' stay in "login_purpose", unused.
  }
}
