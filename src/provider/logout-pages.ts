import { type KoaContextWithOIDC } from 'oidc-provider';
import { type PageRenderer } from '../rendering/page-renderer.js';
import { type ClientsService } from './clients.service.js';
import { PROVIDER_TEXTS } from './provider.texts.js';

/**
 * oidc-provider's RP-initiated logout pages, ours and in Russian: the confirmation (its form
 * posts to our own origin, so our CSP's `form-action 'self'` lets it through; no inline script)
 * and the page shown when no post-logout URI was asked for.
 */
export function logoutPages(pages: PageRenderer, clients: ClientsService) {
  return {
    logoutSource: async (ctx: KoaContextWithOIDC, form: string): Promise<void> => {
      const client = ctx.oidc.client;
      ctx.type = 'html';
      ctx.body = pages.render('oidc-logout', {
        title: PROVIDER_TEXTS.logoutTitle,
        question: PROVIDER_TEXTS.logoutQuestion(
          client ? await clients.nameOf(client.clientId) : null,
        ),
        form,
        yes: PROVIDER_TEXTS.logoutYes,
        no: PROVIDER_TEXTS.logoutNo,
      });
    },
    postLogoutSuccessSource: (ctx: KoaContextWithOIDC): void => {
      ctx.type = 'html';
      ctx.body = pages.render('message', {
        title: PROVIDER_TEXTS.loggedOutTitle,
        paragraphs: [PROVIDER_TEXTS.loggedOut],
      });
    },
  };
}
