import { type MikroORM } from '@mikro-orm/postgresql';
import { type Adapter, type AdapterPayload } from 'oidc-provider';

interface Row {
  payload: AdapterPayload | string;
  consumed_at: Date | string | null;
}

/** Where a registered client's metadata comes from (the `oidc_clients` table, not this one). */
export type ClientMetadataSource = (clientId: string) => Promise<AdapterPayload | undefined>;

const LIVE = `(expires_at is null or expires_at > clock_timestamp())`;

function toPayload(row: Row | undefined): AdapterPayload | undefined {
  if (!row) return undefined;
  const payload = (
    typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload
  ) as AdapterPayload;
  if (row.consumed_at === null) return payload;
  // oidc-provider reads `consumed` as "already used": a code or refresh token used twice.
  return { ...payload, consumed: Math.floor(new Date(row.consumed_at).getTime() / 1000) };
}

/**
 * oidc-provider's storage contract (find, findByUid, findByUserCode, upsert, consume, destroy,
 * revokeByGrantId) on the `oidc_payloads` table, so that every instance sees the same sessions,
 * codes and tokens. An expired row is never returned, even before the sweep deletes it. The
 * `Client` model is read from the registered clients instead: there is no dynamic registration.
 */
export function postgresAdapter(
  orm: MikroORM,
  clients: ClientMetadataSource,
): new (model: string) => Adapter {
  const execute = (sql: string, params: unknown[]) =>
    orm.em.getConnection().execute<Row[]>(sql, params);

  return class PostgresAdapter implements Adapter {
    constructor(private readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      if (this.model === 'Client') throw new Error('clients are registered, not upserted');
      await execute(
        `insert into oidc_payloads (model, id, payload, grant_id, user_code, uid, expires_at)
           values (?, ?, ?::jsonb, ?, ?, ?,
             case when ?::int > 0 then clock_timestamp() + make_interval(secs => ?::int) end)
         on conflict (model, id) do update set
           payload = excluded.payload, grant_id = excluded.grant_id, user_code = excluded.user_code,
           uid = excluded.uid, expires_at = excluded.expires_at`,
        [
          this.model,
          id,
          JSON.stringify(payload),
          payload.grantId ?? null,
          payload.userCode ?? null,
          payload.uid ?? null,
          expiresIn ?? 0,
          expiresIn ?? 0,
        ],
      );
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Client') return clients(id);
      const rows = await execute(
        `select payload, consumed_at from oidc_payloads where model = ? and id = ? and ${LIVE}`,
        [this.model, id],
      );
      return toPayload(rows[0]);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const rows = await execute(
        `select payload, consumed_at from oidc_payloads where model = ? and uid = ? and ${LIVE} limit 1`,
        [this.model, uid],
      );
      return toPayload(rows[0]);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const rows = await execute(
        `select payload, consumed_at from oidc_payloads where model = ? and user_code = ? and ${LIVE} limit 1`,
        [this.model, userCode],
      );
      return toPayload(rows[0]);
    }

    async consume(id: string): Promise<void> {
      await execute(
        `update oidc_payloads set consumed_at = clock_timestamp() where model = ? and id = ? and consumed_at is null`,
        [this.model, id],
      );
    }

    async destroy(id: string): Promise<void> {
      await execute(`delete from oidc_payloads where model = ? and id = ?`, [this.model, id]);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await execute(`delete from oidc_payloads where model = ? and grant_id = ?`, [
        this.model,
        grantId,
      ]);
    }
  };
}

/** Deletes rows past their expiry (find already ignores them); returns how many went. */
export async function sweepExpiredPayloads(orm: MikroORM): Promise<number> {
  const result = await orm.em
    .getConnection()
    .execute<{ affectedRows?: number }>(
      `delete from oidc_payloads where expires_at < clock_timestamp()`,
      [],
      'run',
    );
  return result.affectedRows ?? 0;
}
