import { type EntityManager } from '@mikro-orm/postgresql';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { fromKysely, type Queue } from 'pg-boss';
import { AppConfig } from '../config/app-config.js';
import { MailOutbox } from '../mail/mail.outbox.js';
import {
  type EndedScope,
  SessionEndHooks,
  type SessionEndListener,
} from '../sessions/session-end-hooks.js';

/** The pg-boss queue of back-channel logout deliveries: one job per (client, sid). */
export const BACKCHANNEL_QUEUE = 'oidc-backchannel-logout';

export interface BackchannelJob {
  clientId: string;
  sub: string;
  sid: string;
}

/** The queue's retry policy (OIDC_LOGOUT_*): a client that is down gets it when it is back. */
export function backchannelQueueOptions(config: AppConfig): Omit<Queue, 'name'> {
  const { retryLimit, retryDelayMs, retryDelayMaxMs } = config.oidc.backchannel;
  return {
    retryLimit,
    retryDelay: Math.max(1, Math.round(retryDelayMs / 1000)),
    retryBackoff: true,
    retryDelayMax: Math.max(1, Math.round(retryDelayMaxMs / 1000)),
    heartbeatSeconds: 10,
  };
}

interface EndedLink {
  client_id: string;
  sid: string;
  account_id: string;
  grant_id: string | null;
  provider_session_uid: string | null;
}

/**
 * A link is ended when its session could no longer be used: revoked, gone, its user no longer
 * active or its sessions reset since (`sessions_valid_after`). Expiry alone is not an end: the
 * provider's session and grants expire with ours (their TTL is SESSION_ABSOLUTE_TTL).
 */
const ENDED = `not exists (
  select 1 from sessions s join users u on u.id = s.user_id
  where s.id = l.session_id and s.revoked_at is null and u.status = 'active'
    and (u.sessions_valid_after is null or s.created_at >= u.sessions_valid_after))`;

/**
 * When our sessions end, what they opened at the OpenID Provider ends with them, in the same
 * transaction: the links are taken (a concurrent end takes each one once), the grants and every
 * code and token issued under them are deleted (introspection answers `active: false` from the
 * commit on), the provider sessions are destroyed, and one back-channel logout job per (client,
 * sid) is queued for the clients that registered a `backchannel_logout_uri`
 * (backchannel-delivery.ts sends them).
 *
 * Needs no oidc-provider: the command line (`user:block`, `sessions:end-all`) runs it too.
 */
@Injectable()
export class BackchannelLogout implements SessionEndListener, OnModuleInit {
  private queueReady?: Promise<unknown>;

  constructor(
    private readonly hooks: SessionEndHooks,
    private readonly outbox: MailOutbox,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.hooks.listen(this);
  }

  async sessionReplaced(em: EntityManager, previousId: string, nextId: string): Promise<void> {
    await em.execute(
      `insert into oidc_session_links
         (session_id, client_id, sid, account_id, grant_id, provider_session_uid, created_at)
       select ?, client_id, sid, account_id, grant_id, provider_session_uid, created_at
         from oidc_session_links where session_id = ?
       on conflict do nothing`,
      [nextId, previousId],
    );
    await em.execute(`delete from oidc_session_links where session_id = ?`, [previousId]);
  }

  async sessionsEnded(outer: EntityManager, scope: EndedScope): Promise<void> {
    await outer.transactional(async (em) => {
      const ended = await em.execute<EndedLink[]>(
        `delete from oidc_session_links l
          where ${'userId' in scope ? 'l.account_id = ? and' : ''} ${ENDED}
          returning l.client_id, l.sid, l.account_id, l.grant_id, l.provider_session_uid`,
        'userId' in scope ? [scope.userId] : [],
      );
      if (ended.length === 0) return;
      const grants = unique(ended.map((link) => link.grant_id));
      const providerSessions = unique(ended.map((link) => link.provider_session_uid));
      await em.execute(
        `delete from oidc_payloads where grant_id in ${IN_JSON} or (model = 'Grant' and id in ${IN_JSON})
            or (model = 'Session' and uid in ${IN_JSON})`,
        [json(grants), json(grants), json(providerSessions)],
      );
      const listening = await em.execute<{ client_id: string }[]>(
        `select client_id from oidc_clients
          where client_id in ${IN_JSON} and backchannel_logout_uri is not null and disabled_at is null`,
        [json(unique(ended.map((link) => link.client_id)))],
      );
      const notified = new Set(listening.map((row) => row.client_id));
      const jobs = new Map<string, BackchannelJob>();
      for (const link of ended)
        if (notified.has(link.client_id))
          jobs.set(`${link.client_id} ${link.sid}`, {
            clientId: link.client_id,
            sub: link.account_id,
            sid: link.sid,
          });
      if (jobs.size === 0) return;
      await this.ensureQueue();
      const db = fromKysely(em.getKysely());
      for (const job of jobs.values()) await this.outbox.jobs.send(BACKCHANNEL_QUEUE, job, { db });
    });
  }

  /** pg-boss sends only to a queue that exists; the service's worker keeps its options current. */
  private ensureQueue(): Promise<unknown> {
    this.queueReady ??= this.outbox.jobs
      .createQueue(BACKCHANNEL_QUEUE, backchannelQueueOptions(this.config))
      .catch((error: unknown) => {
        this.queueReady = undefined;
        throw error;
      });
    return this.queueReady;
  }
}

/** A list bound as one JSON parameter: the query's text does not depend on its length. */
const IN_JSON = `(select jsonb_array_elements_text(?::jsonb))`;
const json = (values: string[]) => JSON.stringify(values);

function unique(values: (string | null)[]): string[] {
  return [...new Set(values.filter((value): value is string => value !== null))];
}
