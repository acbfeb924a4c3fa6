import { type Command } from 'commander';
import { action, commonOptions, type CommonOptions, usageError } from './common.js';

export interface OperatorCreateOptions extends CommonOptions {
  login: string;
  passwordStdin?: boolean;
  promote?: boolean;
  resetCredentials?: boolean;
}

export function registerOperatorCommands(program: Command): void {
  commonOptions(
    program
      .command('operator:create')
      .description(
        'создать оператора платформы или задать существующему оператору новый пароль. Сгенерированный пароль показывается один раз',
      )
      .requiredOption('--login <логин>', 'логин оператора')
      .option(
        '--password-stdin',
        'взять пароль из первой строки стандартного ввода вместо генерации',
      )
      .option(
        '--promote',
        'сделать оператором существующую обычную учётную запись; отказ, если у неё есть связанная учётная запись Госуслуг, подтверждённая почта или пароль, заданный в последние 24 часа',
      )
      .option(
        '--reset-credentials',
        'вместе с --promote: сначала удалить всё это (и завершить её сеансы) и сообщить, что удалено',
      ),
  ).action(
    action<OperatorCreateOptions>(async (options, out, command) => {
      if (options.resetCredentials && !options.promote)
        usageError(command, '--reset-credentials указывается только вместе с --promote');
      await (await import('./operators.actions.js')).operatorCreate(options, out);
    }),
  );
}
