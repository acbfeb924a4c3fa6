import { Migration } from '@mikro-orm/migrations';

/**
 * «Виджет размещён» means found on the official site: the last placement check's state, when it
 * ran and why a site was unavailable, and when an administrator last asked for a check (once a
 * minute per organisation).
 */
export class Migration20261202171500 extends Migration {
  override name = 'Migration20261202171500';

  override up(): void | Promise<void> {
    this.addSql(
      `alter table "pos_organizations" add column "widget_check_state" varchar(32) null, add column "widget_checked_at" timestamptz null, add column "widget_check_reason" varchar(32) null, add column "widget_check_requested_at" timestamptz null;`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(
      `alter table "pos_organizations" drop column "widget_check_state", drop column "widget_checked_at", drop column "widget_check_reason", drop column "widget_check_requested_at";`,
    );
  }
}
