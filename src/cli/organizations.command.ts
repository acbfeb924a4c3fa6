import { type Command } from 'commander';
import { action, commonOptions, type CommonOptions } from './common.js';

export interface OrgCreateOptions extends CommonOptions {
  name: string;
  kind: string;
  parent?: string;
}

export interface AdminInviteOptions extends CommonOptions {
  org: string;
  email: string;
  lastName: string;
  firstName: string;
  middleName?: string;
  snils?: string;
  position?: string;
  roles?: string;
}

/** The actions load the services only when they run (`--help` stays instant). */
const actions = () => import('./organizations.actions.js');

export function registerOrganizationCommands(program: Command): void {
  commonOptions(
    program
      .command('org:create')
      .description(
        'создать организацию: орган управления образованием или подведомственное учреждение',
      )
      .requiredOption('--name <название>', 'полное название организации')
      .requiredOption(
        '--kind <вид>',
        'authority — орган управления образованием, institution — учреждение',
      )
      .option('--parent <id или № ЛКО>', 'вышестоящая организация (для учреждения обязательна)'),
  ).action(
    action<OrgCreateOptions>(async (options, out) => (await actions()).orgCreate(options, out)),
  );

  commonOptions(
    program
      .command('org:tree')
      .description('показать дерево организаций: № ЛКО, название, вид, id'),
  ).action(action<CommonOptions>(async (options, out) => (await actions()).orgTree(options, out)));

  commonOptions(
    program
      .command('admin:invite')
      .description(
        'пригласить первого администратора организации; письмо уходит через очередь почты. Принять приглашение может только человек с этими ФИО (и СНИЛС, если указан)',
      )
      .requiredOption('--org <id или № ЛКО>', 'организация')
      .requiredOption('--email <адрес>', 'адрес электронной почты приглашаемого')
      .requiredOption('--last-name <фамилия>', 'фамилия')
      .requiredOption('--first-name <имя>', 'имя')
      .option('--middle-name <отчество>', 'отчество')
      .option('--snils <СНИЛС>', 'СНИЛС (11 цифр)')
      .option('--position <должность>', 'должность')
      .option('--roles <роли>', 'роли через запятую: admin, head, … (по умолчанию admin)'),
  ).action(
    action<AdminInviteOptions>(async (options, out) => (await actions()).adminInvite(options, out)),
  );
}
