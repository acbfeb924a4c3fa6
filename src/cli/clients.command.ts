import { type Command } from 'commander';
import { action, commonOptions, type CommonOptions } from './common.js';

export interface ClientCreateOptions extends CommonOptions {
  name: string;
  redirectUri: string[];
  postLogoutRedirectUri?: string[];
  backchannelLogoutUri?: string;
  public?: boolean;
  firstParty?: boolean;
  acr?: string;
}

export interface ClientOptions extends CommonOptions {
  client: string;
}

/** A repeatable option: every occurrence, in order. */
const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The actions load the services only when they run (`--help` stays instant). */
const actions = () => import('./clients.actions.js');

export function registerClientCommands(program: Command): void {
  commonOptions(
    program
      .command('client:create')
      .description(
        'зарегистрировать приложение, которое входит через Identity Link (OpenID Connect): выводит client_id и для конфиденциального приложения client_secret — он показывается один раз, в базе хранится только его хеш',
      )
      .requiredOption('--name <название>', 'название приложения, его видит человек при входе')
      .requiredOption(
        '--redirect-uri <адрес>',
        'адрес возврата после входа (https; http — только 127.0.0.1, [::1] или localhost при разработке); можно указать несколько раз',
        collect,
      )
      .option(
        '--post-logout-redirect-uri <адрес>',
        'адрес возврата после выхода; можно указать несколько раз',
        collect,
      )
      .option(
        '--backchannel-logout-uri <адрес>',
        'адрес, на который приходит уведомление о выходе (back-channel logout)',
      )
      .option(
        '--public',
        'публичное приложение (в браузере или на телефоне): без секрета, только с PKCE',
      )
      .option(
        '--first-party',
        'приложение самой платформы: вход без страницы согласия на передачу данных',
      )
      .option('--acr <уровень>', 'обязательный способ входа: gosuslugi — только через Госуслуги'),
  ).action(
    action<ClientCreateOptions>(async (options, out) =>
      (await actions()).clientCreate(options, out),
    ),
  );

  commonOptions(
    program
      .command('client:list')
      .description(
        'показать зарегистрированные приложения: client_id, название, публичное или конфиденциальное, своё ли, отключено ли, адреса возврата',
      ),
  ).action(
    action<CommonOptions>(async (options, out) => (await actions()).clientList(options, out)),
  );

  commonOptions(
    program
      .command('client:rotate-secret')
      .description(
        'выдать конфиденциальному приложению новый client_secret (показывается один раз); прежний перестаёт действовать сразу',
      )
      .requiredOption('--client <client_id>', 'client_id приложения'),
  ).action(
    action<ClientOptions>(async (options, out) =>
      (await actions()).clientRotateSecret(options, out),
    ),
  );

  commonOptions(
    program
      .command('client:disable')
      .description('отключить приложение: через него больше нельзя войти и обменять код на токены')
      .requiredOption('--client <client_id>', 'client_id приложения'),
  ).action(
    action<ClientOptions>(async (options, out) => (await actions()).clientDisable(options, out)),
  );
}
