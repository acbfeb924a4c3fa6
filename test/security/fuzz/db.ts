import pg from 'pg';

/**
 * Tables left out of the write check, and why. Everything else in `public` is checked row by row.
 */
export const UNCHECKED_TABLES: Record<string, string> = {
  // Every request counts against the rate limit: incrementing counters is the point.
  throttle_counters: 'rate-limit counters, written by every request by design',
  mikro_orm_migrations: 'schema history, written only by migrations',
  // A wrong password adds or updates its (account, address) row, like the account's counters.
  login_failures: 'password failures per (account, address): a refused guess counts by design',
};

/**
 * Columns a refused request may still change, and why. The rest of each row is compared.
 */
export const VOLATILE_COLUMNS: Record<string, Record<string, string>> = {
  sessions: {
    last_seen_at: 'any authenticated request extends the idle expiry (at most once a minute)',
    idle_expires_at: 'same',
  },
  password_credentials: {
    failure_count: 'a wrong password counts toward lockout, refused or not',
    last_failure_at: 'same',
    locked_until: 'same',
  },
  mail_messages: {
    status: 'the delivery worker runs in the background, after the request that queued the mail',
    attempts: 'same',
    last_error: 'same',
    sent_at: 'same',
    attempt_started_at: 'same',
  },
  mfa_credentials: {
    failure_count: 'a wrong second-factor code counts on the factor, refused or not',
    last_failure_at: 'same',
    locked_until: 'same',
  },
  login_challenges: {
    failed_attempts: 'a wrong code counts on the pending login step',
    ended_at: 'and ends it after five',
  },
  pos_organizations: {
    widget_check_state:
      'the widget placement check runs in the background, after the request that queued it',
    widget_checked_at: 'same',
    widget_check_reason: 'same',
  },
  pos_memberships: {
    delivery_state: 'mirrors the background delivery of the invitation mail',
    delivery_updated_at: 'same',
    delivery_error: 'same',
    updated_at: 'touched with the delivery state',
  },
};

/**
 * Security events that record a refused attempt. ASVS 16.3 wants failed authentication and
 * rejected input to be logged, so these may be added by a refused request; any other event is a
 * write.
 */
export const FAILURE_EVENTS = [
  'login.failed',
  'login.locked_out',
  'password.change_failed',
  'reauthentication.failed',
  'gosuslugi.link_refused',
  'gosuslugi.callback_rejected',
  'pos.invitation.refused',
  'email.verification_failed',
  'recovery.refused',
  'recovery.failed',
  'mfa.failed',
];

export type Snapshot = Map<string, { rows: number; digest: string }>;

export interface Writes {
  /** Tables whose checked rows changed (insert, update or delete), with row counts before → after. */
  changed: string[];
  /** Failure events added (allowed). */
  failureEvents: number;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Row-level fingerprints of every application table: the row count and an order-independent
 * digest of all rows (minus the volatile columns), so any insert, update or delete shows.
 */
export class DatabaseWatch {
  private constructor(
    private readonly client: pg.Client,
    private readonly sql: string,
    readonly tables: string[],
  ) {}

  static async open(url: string): Promise<DatabaseWatch> {
    const client = new pg.Client({ connectionString: url });
    // The database is dropped with (force) when the app closes, possibly before this is closed.
    client.on('error', () => undefined);
    await client.connect();
    const { rows } = await client.query<{ table_name: string }>(
      `select table_name from information_schema.tables
        where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`,
    );
    const tables = rows.map((row) => row.table_name).filter((name) => !(name in UNCHECKED_TABLES));
    const parts = tables.map((table) => {
      const volatile = Object.keys(VOLATILE_COLUMNS[table] ?? {});
      const row =
        volatile.length > 0
          ? `(to_jsonb(x) - array[${volatile.map((c) => `'${c}'`).join(',')}]::text[])`
          : 'to_jsonb(x)';
      const where =
        table === 'audit_events'
          ? `where not (x.type = any(array[${FAILURE_EVENTS.map((e) => `'${e}'`).join(',')}]))`
          : '';
      return `select '${table}' as name, count(*)::int as rows,
          coalesce(md5(string_agg(h, ',' order by h)), '') as digest
        from (select md5(${row}::text) as h from ${quote(table)} x ${where}) s`;
    });
    parts.push(
      `select 'audit_events:failures' as name, count(*)::int as rows, '' as digest
         from audit_events where type = any(array[${FAILURE_EVENTS.map((e) => `'${e}'`).join(',')}])`,
    );
    // The job queue (pg-boss) lives in its own schema; a job is a write too (mail, recovery).
    const queue = await client.query(
      `select 1 from information_schema.tables where table_schema = 'pgboss' and table_name = 'job'`,
    );
    if (queue.rowCount)
      parts.push(
        `select 'pgboss.job' as name, count(*)::int as rows, '' as digest from pgboss.job`,
      );
    return new DatabaseWatch(client, parts.join('\nunion all\n'), tables);
  }

  async snapshot(): Promise<Snapshot> {
    const { rows } = await this.client.query<{ name: string; rows: number; digest: string }>(
      this.sql,
    );
    return new Map(rows.map((row) => [row.name, { rows: row.rows, digest: row.digest }]));
  }

  /** What changed between two snapshots; jobs only count when added (pg-boss removes old ones). */
  static diff(before: Snapshot, after: Snapshot): Writes {
    const changed: string[] = [];
    let failureEvents = 0;
    for (const [name, now] of after) {
      const then = before.get(name) ?? { rows: 0, digest: '' };
      if (name === 'audit_events:failures') {
        failureEvents = now.rows - then.rows;
        continue;
      }
      if (
        name === 'pgboss.job'
          ? now.rows > then.rows
          : now.digest !== then.digest || now.rows !== then.rows
      )
        changed.push(`${name} (${then.rows} → ${now.rows} rows)`);
    }
    return { changed, failureEvents };
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}
