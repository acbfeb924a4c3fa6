import { Migration } from '@mikro-orm/migrations';

/**
 * Throttling counters shared by every instance (src/throttling). Not an entity: one upsert per
 * check. UNLOGGED: the counts are worthless after a crash, so they skip the WAL.
 */
export class Migration20261124083000 extends Migration {
  override name = 'Migration20261124083000';

  override up(): void | Promise<void> {
    this.addSql(
      `create unlogged table "throttle_counters" ("key" text not null, "hits" integer not null, "expires_at" timestamptz not null, "blocked_until" timestamptz null, primary key ("key"));`,
    );
    this.addSql(
      `create index "throttle_counters_expires_idx" on "throttle_counters" ("expires_at");`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "throttle_counters";`);
  }
}
