import { MikroORM } from '@mikro-orm/postgresql';
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { importJWK, SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { type Job } from 'pg-boss';
import { AuditService } from '../audit/audit.service.js';
import { AppConfig } from '../config/app-config.js';
import { MailOutbox } from '../mail/mail.outbox.js';
import { TokenService } from '../sessions/token.service.js';
import {
  BACKCHANNEL_QUEUE,
  type BackchannelJob,
  backchannelQueueOptions,
} from './backchannel-logout.js';

/** OpenID Back-Channel Logout 1.0 §2.4: the one event a logout token carries. */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** How long a logout token is valid: it is signed at each attempt, so a late one is still fresh. */
const LOGOUT_TOKEN_TTL_SECONDS = 120;

/**
 * Delivers the back-channel logout jobs (backchannel-logout.ts queues them): a logout token
 * signed with the provider's key at each attempt, POSTed form-encoded to the client's
 * `backchannel_logout_uri` with a deadline (OIDC_LOGOUT_TIMEOUT). A 2xx answer is a
 * delivery; anything else is audited (`oidc.backchannel.failed`) and retried by pg-boss with
 * back-off (OIDC_LOGOUT_RETRY_*), so a client that was down gets it when it is back. Runs in
 * the service only (the command line queues).
 */
@Injectable()
export class BackchannelDelivery implements OnModuleInit {
  private readonly logger = new Logger('BackchannelLogout');

  constructor(
    private readonly outbox: MailOutbox,
    private readonly orm: MikroORM,
    private readonly tokens: TokenService,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.outbox.runsWorkers) return;
    const boss = this.outbox.jobs;
    const options = backchannelQueueOptions(this.config);
    await boss.createQueue(BACKCHANNEL_QUEUE, options);
    await boss.updateQueue(BACKCHANNEL_QUEUE, options);
    await boss.work<BackchannelJob>(
      BACKCHANNEL_QUEUE,
      { batchSize: 1, pollingIntervalSeconds: 0.5, includeMetadata: true },
      async ([job]) => this.deliver(job),
    );
  }

  private async deliver(job: Job<BackchannelJob> & { retryCount?: number }): Promise<void> {
    const { clientId, sub, sid } = job.data;
    const rows = await this.orm.em
      .fork()
      .getConnection()
      .execute<{ backchannel_logout_uri: string | null }[]>(
        `select backchannel_logout_uri from oidc_clients where client_id = ? and disabled_at is null`,
        [clientId],
      );
    const uri = rows[0]?.backchannel_logout_uri;
    // A client disabled or without the URI since: nobody to tell.
    if (!uri) return;
    const token = await this.logoutToken(clientId, sub, sid);
    let failure: string | null = null;
    try {
      const response = await fetch(uri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: token }).toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.oidc.backchannel.timeoutMs),
      });
      await response.body?.cancel();
      if (response.status < 200 || response.status >= 300) failure = `HTTP ${response.status}`;
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
    if (failure === null) return;
    const attempt = (job.retryCount ?? 0) + 1;
    this.logger.warn({ clientId, sid, attempt, failure }, 'back-channel logout not delivered');
    await this.audit
      .write({
        type: 'oidc.backchannel.failed',
        targetUserId: sub,
        details: { clientId, sid, attempt, failure, uri },
      })
      .catch((error: unknown) => this.logger.error({ err: error }, 'could not audit'));
    throw new Error(`back-channel logout to ${clientId} failed: ${failure}`);
  }

  /** OpenID Back-Channel Logout 1.0 §2.4, with the ID tokens' key and issuer; never a nonce. */
  private async logoutToken(clientId: string, sub: string, sid: string): Promise<string> {
    const jwk = this.tokens.signingJwk();
    const key = await importJWK(jwk, jwk.alg);
    return new SignJWT({ sid, events: { [BACKCHANNEL_LOGOUT_EVENT]: {} } })
      .setProtectedHeader({ alg: jwk.alg!, kid: jwk.kid, typ: 'logout+jwt' })
      .setIssuer(this.config.publicUrl)
      .setAudience(clientId)
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime(`${LOGOUT_TOKEN_TTL_SECONDS}s`)
      .setJti(randomUUID())
      .sign(key);
  }
}
