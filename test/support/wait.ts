/** Polls `check` until it holds; fails after `timeoutMs` (the outbox and workers act later). */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Until a session of `client`'s database waits for a lock (this database only, not the cluster):
 * for tests that hold a lock in a raw transaction and need the service's statement queued on it.
 */
export async function waitForLockWaiter(
  client: { query<R>(sql: string): Promise<{ rows: R[] }> },
  timeoutMs = 20_000,
): Promise<void> {
  await waitUntil(async () => {
    const waiting = await client.query<{ n: string }>(
      `select count(*) as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where not l.granted and a.datname = current_database()`,
    );
    return Number(waiting.rows[0].n) > 0;
  }, timeoutMs);
}
