import { Migration } from '@mikro-orm/migrations';

/**
 * The outbox records an attempt before its SMTP conversation: the `sending` state and when the
 * attempt began, so that a worker that died mid-send is told apart from one that never started.
 */
export class Migration20261202072153 extends Migration {
  override name = 'Migration20261202072153';

  override up(): void | Promise<void> {
    this.addSql(`alter type "mail_status" add value if not exists 'sending' after 'queued';`);
    this.addSql(`alter table "mail_messages" add "attempt_started_at" timestamptz null;`);
  }

  override down(): void | Promise<void> {
    // PostgreSQL cannot drop an enum value; an attempt in flight goes back to the queue.
    this.addSql(`update "mail_messages" set "status" = 'queued' where "status" = 'sending';`);
    this.addSql(`alter table "mail_messages" drop column "attempt_started_at";`);
  }
}
