import { type ClientAcr, ClientsService } from '../provider/clients.service.js';
import { type OidcClient } from '../provider/oidc-client.entity.js';
import { type ClientCreateOptions, type ClientOptions } from './clients.command.js';
import { type CommonOptions } from './common.js';
import { type CliOutput } from './output.js';
import { withContext } from './runtime.js';

/*
 * ClientsService injects only the EntityManager, AuditService and AppConfig, which every command's
 * context holds: no module of the provider is loaded, so oidc-provider (the HTTP provider, its
 * Koa and its keys) stays out of the command line. clients.service.ts imports it for a type only.
 */

/** What the command line shows of a client; never its secret hash. */
const summary = (client: OidcClient) => ({
  clientId: client.clientId,
  name: client.name,
  public: client.isPublic,
  firstParty: client.firstParty,
  requiredAcr: client.requiredAcr,
  redirectUris: client.redirectUris,
  postLogoutRedirectUris: client.postLogoutRedirectUris,
  backchannelLogoutUri: client.backchannelLogoutUri,
  disabled: client.disabledAt !== null,
  disabledAt: client.disabledAt?.toISOString() ?? null,
  createdAt: client.createdAt.toISOString(),
});

const kind = (client: OidcClient) => (client.isPublic ? 'публичное' : 'конфиденциальное');

const SHOWN_ONCE =
  'Секрет показан один раз: сохраните его сейчас. В базе хранится только его хеш, восстановить его нельзя (новый выдаёт client:rotate-secret).';

export async function clientCreate(options: ClientCreateOptions, out: CliOutput): Promise<void> {
  await withContext({ migrate: options.migrate, providers: [ClientsService] }, async (context) => {
    const { client, clientSecret } = await context.get(ClientsService).create(
      {
        name: options.name,
        redirectUris: options.redirectUri,
        postLogoutRedirectUris: options.postLogoutRedirectUri ?? [],
        backchannelLogoutUri: options.backchannelLogoutUri ?? null,
        isPublic: Boolean(options.public),
        firstParty: Boolean(options.firstParty),
        // The service refuses a value it does not know (validation_failed, exit 2).
        requiredAcr: (options.acr as ClientAcr | undefined) ?? null,
      },
      { via: 'cli' },
    );
    const lines = [`зарегистрировано ${kind(client)} приложение «${client.name}»`];
    lines.push(`client_id: ${client.clientId}`);
    if (clientSecret !== null) lines.push(`client_secret: ${clientSecret}`, SHOWN_ONCE);
    else lines.push('секрета нет: публичное приложение входит с PKCE (S256)');
    out.result(lines, { client: summary(client), clientSecret });
  });
}

/** Columns padded to their widest cell (the last one, the redirect URIs, is not padded). */
function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd(),
  );
}

export async function clientList(options: CommonOptions, out: CliOutput): Promise<void> {
  await withContext({ migrate: options.migrate, providers: [ClientsService] }, async (context) => {
    const clients = await context.get(ClientsService).list();
    const lines =
      clients.length === 0
        ? ['приложений нет (зарегистрировать: client:create)']
        : table([
            ['client_id', 'название', 'тип', 'своё', 'отключено', 'адреса возврата'],
            ...clients.map((client) => [
              client.clientId,
              client.name,
              kind(client),
              client.firstParty ? 'да' : 'нет',
              client.disabledAt ? `да, ${client.disabledAt.toISOString()}` : 'нет',
              client.redirectUris.join(' '),
            ]),
          ]);
    out.result(lines, { clients: clients.map(summary) });
  });
}

export async function clientRotateSecret(options: ClientOptions, out: CliOutput): Promise<void> {
  await withContext({ migrate: options.migrate, providers: [ClientsService] }, async (context) => {
    const { clientSecret } = await context
      .get(ClientsService)
      .rotateSecret(options.client, { via: 'cli' });
    out.result(
      [
        `новый секрет приложения ${options.client}; прежний больше не действует`,
        `client_secret: ${clientSecret}`,
        SHOWN_ONCE,
      ],
      { clientId: options.client, clientSecret },
    );
  });
}

export async function clientDisable(options: ClientOptions, out: CliOutput): Promise<void> {
  await withContext({ migrate: options.migrate, providers: [ClientsService] }, async (context) => {
    const client = await context.get(ClientsService).disable(options.client, { via: 'cli' });
    out.result(
      [
        `приложение «${client.name}» (${client.clientId}) отключено с ${client.disabledAt!.toISOString()}: через него нельзя войти и обменять код на токены`,
      ],
      { client: summary(client) },
    );
  });
}
