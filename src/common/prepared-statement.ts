import { type EntityManager } from '@mikro-orm/postgresql';

/** `sql` with each `?` placeholder numbered (`$1`, `$2`, …) in order, as PostgreSQL binds them. */
export function numberedPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${(n += 1)}`);
}

/**
 * A statement PostgreSQL parses and plans once per pooled connection, then only binds and runs.
 *
 * `em.getConnection().execute(sql, values)` writes the values into the SQL text (MikroORM formats
 * the query, and the text goes over the simple query protocol), so each call is a new statement
 * to PostgreSQL: parsed, analysed and planned again, and escaped value by value in JavaScript
 * first. On the hottest paths (a password login, the session lookup, the throttling counter)
 * that was a large part of the database's CPU per request (`perf` in docs/performance.md). This
 * sends the same SQL as a named prepared statement with its values bound.
 *
 * It runs on the ORM's own pool (same timeouts, same type parsers: rows come back exactly as
 * `execute` returns them), outside any transaction: use it only for a statement that is its own
 * transaction. `?` in the SQL are the placeholders (no `?` operators); `sql` is built on first use.
 *
 * A migration run while instances serve can change the type of a column a prepared statement
 * returns. PostgreSQL then refuses to run the connection's prepared plan (0A000, «cached plan must
 * not change result type»), once on each connection that had prepared it, before it has run
 * anything. The statement is then sent once more unprepared, so the caller gets its rows and
 * never the error; pg-pool closes the refusing connection, and a new one prepares it afresh.
 */
export class PreparedStatement {
  private text?: string;
  constructor(
    private readonly name: string,
    private readonly sql: (em: EntityManager) => string,
  ) {}

  async rows<Row extends object>(em: EntityManager, values: readonly unknown[]): Promise<Row[]> {
    const text = (this.text ??= numberedPlaceholders(this.sql(em)));
    const pool = await em.getConnection().getNativeClient();
    const query = { text, values: values as unknown[] };
    try {
      return (await pool.query<Row & Record<string, unknown>>({ name: this.name, ...query })).rows;
    } catch (error) {
      if (!stalePlan(error)) throw error;
      return (await pool.query<Row & Record<string, unknown>>(query)).rows;
    }
  }
}

/**
 * PostgreSQL's refusal of a prepared plan whose result type changed since it was prepared. Told
 * by the routine that raises it (plancache.c), not by its message, which the server may translate.
 */
function stalePlan(error: unknown): boolean {
  const { code, routine } = error as { code?: unknown; routine?: unknown };
  return code === '0A000' && routine === 'RevalidateCachedQuery';
}
