import { MikroORM } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { frameworkRequest } from '../common/http.js';
import { type KoaContextWithOIDC } from 'oidc-provider';
import { clientInfoOf } from '../common/client-info.js';
import { AppConfig } from '../config/app-config.js';
import { LoginSessions } from '../sessions/login-sessions.service.js';
import { clearSessionCookie } from '../sessions/session-cookie.js';
import { SessionService } from '../sessions/session.service.js';
import { PageRenderer } from '../rendering/page-renderer.js';
import { PROVIDER_TEXTS } from './provider.texts.js';

/** Set by the provider's `authorization.success` event: this request answered with a code. */
export const AUTHORIZED = 'identityLinkAuthorized';

type Next = () => Promise<unknown>;

/**
 * The provider's session is our session, in both directions (Koa middleware of oidc-provider):
 * - a code issued to a client records which of our sessions it came from, with the `sid` and grant
 *   (`oidc_session_links`), so that ending our session ends the client's (backchannel-logout.ts);
 * - an RP-initiated logout the person confirms ends our session too (revoked through LoginSessions,
 *   so the other clients hear of it; the cookie cleared), and its last step is a page that moves on
 *   by itself rather than a redirect: browsers hold the redirects after a form's POST to our CSP
 *   `form-action 'self'`, and the post-logout redirect goes to the application's origin.
 */
@Injectable()
export class ProviderSessionLinks {
  constructor(
    private readonly orm: MikroORM,
    private readonly config: AppConfig,
    private readonly sessions: SessionService,
    private readonly loginSessions: LoginSessions,
    private readonly pages: PageRenderer,
  ) {}

  readonly middleware = async (ctx: KoaContextWithOIDC, next: Next): Promise<void> => {
    await next();
    const route = ctx.oidc?.route;
    if ((route === 'authorization' || route === 'resume') && ctx.state[AUTHORIZED] === true)
      await this.record(ctx);
    else if (route === 'end_session_confirm') await this.loggedOut(ctx);
  };

  private async record(ctx: KoaContextWithOIDC): Promise<void> {
    const { client, session } = ctx.oidc;
    const sid = client && session?.sidFor(client.clientId);
    if (!client || !session?.accountId || !sid) return;
    const ours = await this.sessions.fromCookie(frameworkRequest(ctx.req));
    // The interaction checks this already (identity_link_session); a code without it links nothing.
    if (ours?.user.id !== session.accountId) return;
    await this.orm.em.getConnection().execute(
      `insert into oidc_session_links
         (session_id, client_id, sid, account_id, grant_id, provider_session_uid, created_at)
       values (?, ?, ?, ?, ?, ?, clock_timestamp())
       on conflict (session_id, client_id, sid) do update set
         grant_id = excluded.grant_id, provider_session_uid = excluded.provider_session_uid`,
      [
        ours.id,
        client.clientId,
        sid,
        session.accountId,
        session.grantIdFor(client.clientId) ?? null,
        session.uid,
      ],
    );
  }

  private async loggedOut(ctx: KoaContextWithOIDC): Promise<void> {
    if (ctx.status !== 303 && ctx.status !== 302) return;
    const request = frameworkRequest(ctx.req);
    if (ctx.oidc.params?.logout) {
      const ours = await this.sessions.fromCookie(request);
      if (ours) await this.loginSessions.logout(ours, clientInfoOf(request));
      clearSessionCookie(ctx.res, this.config);
    }
    const location = ctx.response.get('location');
    ctx.remove('location');
    ctx.status = 200;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Refresh', `0;url=${location}`);
    ctx.body = this.pages.render('message', {
      title: PROVIDER_TEXTS.returningFromLogout,
      paragraphs: [],
      links: [{ href: location, text: PROVIDER_TEXTS.continue }],
    });
  }
}
