import { type Command } from 'commander';
import { action, commonOptions, type CommonOptions } from './common.js';

export interface LoginOptions extends CommonOptions {
  login: string;
}

export interface EndAllOptions extends CommonOptions {
  reason: string;
}

const actions = () => import('./accounts.actions.js');

const STATUS_COMMANDS = [
  [
    'user:block',
    'blocked',
    'заблокировать учётную запись: вход запрещён, все её сеансы завершаются сразу',
  ],
  [
    'user:archive',
    'archived',
    'перевести в архив учётную запись уволенного сотрудника (как блокировка)',
  ],
  [
    'user:unblock',
    'active',
    'вернуть заблокированную или архивную учётную запись в работу (завершённые сеансы остаются завершёнными)',
  ],
] as const;

export function registerAccountCommands(program: Command): void {
  for (const [name, status, description] of STATUS_COMMANDS)
    commonOptions(
      program
        .command(name)
        .description(description)
        .requiredOption('--login <логин>', 'логин учётной записи'),
    ).action(
      action<LoginOptions>(async (options, out) =>
        (await actions()).changeStatus(status, options, out),
      ),
    );

  commonOptions(
    program
      .command('user:mfa-reset')
      .description(
        'сбросить потерянный второй фактор (приложение и резервные коды) после проверки личности владельца: все сеансы завершаются, владельцу уходит письмо, при следующем входе он подключит фактор заново',
      )
      .requiredOption('--login <логин>', 'логин учётной записи'),
  ).action(action<LoginOptions>(async (options, out) => (await actions()).mfaReset(options, out)));

  commonOptions(
    program
      .command('sessions:end-all')
      .description(
        'завершить все действующие сеансы всех пользователей (например, после утечки ключа); записывается в журнал аудита с причиной, выводит число завершённых сеансов',
      )
      .requiredOption('--reason <причина>', 'причина для журнала аудита'),
  ).action(action<EndAllOptions>(async (options, out) => (await actions()).endAll(options, out)));
}
