import { type Command } from 'commander';
import { action, commonOptions, type CommonOptions } from './common.js';

export interface MembersImportOptions extends CommonOptions {
  org: string;
  file: string;
  dryRun?: boolean;
  report?: string;
}

export function registerMemberCommands(program: Command): void {
  commonOptions(
    program
      .command('members:import')
      .description(
        'импорт пользователей организации из CSV (UTF-8 или Windows-1251, «;» или «,») или XLSX: ' +
          'каждому приглашение через очередь почты, каждая строка отдельно (ошибка в одной строке не мешает другим). ' +
          'Столбцы как в шаблоне: Фамилия;Имя;Отчество;E-mail;СНИЛС;Роли;Организация',
      )
      .requiredOption(
        '--org <id или № ЛКО>',
        'организация, в поддерево которой импортируются пользователи',
      )
      .requiredOption('--file <путь>', 'файл CSV или XLSX (до 5000 строк)')
      .option(
        '--dry-run',
        'только проверить: показать, что будет с каждой строкой, ничего не записывать',
      )
      .option('--report <путь>', 'записать отчёт по строкам в CSV-файл'),
  ).action(
    action<MembersImportOptions>(async (options, out) =>
      (await import('./members.actions.js')).membersImport(options, out),
    ),
  );
}
