import pg from 'pg';

export interface AttemptLock {
  release(): Promise<void>;
}

/**
 * The advisory locks of the delivery attempts this process runs, on one connection of its own:
 * a lock ends with the session, so a worker that dies frees its messages at once.
 */
export class AttemptLocks {
  /** The connection whose session holds the advisory lock of each attempt this process runs. */
  private client?: Promise<pg.Client>;
  private readonly held = new Map<string, AttemptLock>();
  private queries: Promise<unknown> = Promise.resolve();

  constructor(private readonly databaseUrl: string) {}

  /** The lock this process holds for a message, if any. */
  heldFor(id: string): AttemptLock | undefined {
    return this.held.get(id);
  }

  /** The lock of a message's attempt: null while any worker (this process included) runs one. */
  async lock(id: string): Promise<AttemptLock | null> {
    if (this.held.has(id)) return null;
    const key = `mail:${id}`;
    const client = await this.connection();
    const [row] = await this.query<{ locked: boolean }>(
      client,
      'select pg_try_advisory_lock(hashtextextended($1, 0)) as locked',
      [key],
    );
    if (!row?.locked || this.held.has(id)) return null;
    const lock: AttemptLock = {
      release: async () => {
        if (this.held.get(id) !== lock) return;
        this.held.delete(id);
        await this.query(client, 'select pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch(
          () => undefined,
        );
      },
    };
    this.held.set(id, lock);
    return lock;
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.then((c) => c.end()).catch(() => undefined);
  }

  /** One query at a time on the lock connection, in the order asked (the delivery lanes share it). */
  private query<R extends pg.QueryResultRow>(
    client: pg.Client,
    text: string,
    values: unknown[],
  ): Promise<R[]> {
    const result = this.queries.then(() => client.query<R>(text, values));
    this.queries = result.catch(() => undefined);
    return result.then(({ rows }) => rows);
  }

  private connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      application_name: 'identity-link mail outbox',
      keepAlive: true,
      connectionTimeoutMillis: 5000,
      query_timeout: 5000,
    });
    const lost = () => {
      if (this.client !== connecting) return;
      // The locks went with the session.
      this.client = undefined;
      this.held.clear();
      client.end().catch(() => undefined);
    };
    client.on('error', lost);
    client.on('end', lost);
    const connecting = client.connect().then(
      () => client,
      (error: unknown) => {
        lost();
        throw error;
      },
    );
    this.client = connecting;
    return connecting;
  }
}
