import { Command, CommanderError, type Help } from 'commander';
import { registerAccountCommands } from './accounts.command.js';
import { registerClientCommands } from './clients.command.js';
import { registerMemberCommands } from './members.command.js';
import { registerOperatorCommands } from './operators.command.js';
import { registerOrganizationCommands } from './organizations.command.js';

/**
 * The platform operator's command line: `npm run cli -- <command> [options]`, `--help` for the
 * program and each command. Only commander is loaded until a command runs; the command then loads
 * the services it needs (src/cli/runtime.ts), so usage and usage errors answer at once.
 *
 * Exit codes: 0 done; 2 the operator's input was refused (unknown command or option, a missing
 * one, a value the service's validation rejects, a domain refusal such as email_taken); 1
 * anything else (the database unreachable, pending migrations, a bug).
 */

/** commander's English headings, in Russian. */
const TITLES: Record<string, string> = {
  'Usage:': 'Использование:',
  'Options:': 'Параметры:',
  'Commands:': 'Команды:',
  'Arguments:': 'Аргументы:',
  'Global Options:': 'Общие параметры:',
};

/** commander's error messages (lib/command.js), in Russian; anything else is shown as it is. */
const ERRORS: [RegExp, (...groups: string[]) => string][] = [
  [
    /^error: unknown option '([^']+)'(?:\n\(Did you mean (\S+)\?\))?/,
    (option, suggestion) =>
      `ошибка: неизвестный параметр ${option}${suggestion ? ` (возможно, ${suggestion})` : ''}`,
  ],
  [
    /^error: unknown command '([^']+)'(?:\n\(Did you mean (\S+)\?\))?/,
    (command, suggestion) =>
      `ошибка: неизвестная команда ${command}${suggestion ? ` (возможно, ${suggestion})` : ''}`,
  ],
  [
    /^error: required option '([^']+)' not specified/,
    (option) => `ошибка: не указан обязательный параметр ${option}`,
  ],
  [
    /^error: option '([^']+)' argument missing/,
    (option) => `ошибка: у параметра ${option} нет значения`,
  ],
  [
    /^error: too many arguments/,
    () => 'ошибка: лишние аргументы (значения пишутся после параметров, например --name "…")',
  ],
];

export function translateError(message: string): string {
  for (const [pattern, russian] of ERRORS) {
    const match = pattern.exec(message);
    if (match) return `${russian(...match.slice(1))}\n`;
  }
  return message;
}

export function buildProgram(): Command {
  const program = new Command('npm run cli --')
    .description(
      'Командная строка оператора платформы Identity Link: организации, первые администраторы, ' +
        'операторы, блокировка учётных записей, завершение сеансов, приложения OpenID Connect. Работает через те же службы ' +
        'и ту же проверку данных, что и API, на базе DATABASE_URL (без неё — на встроенной базе ' +
        'разработки в DATA_DIR).',
    )
    .usage('<команда> [параметры]')
    .helpOption('-h, --help', 'показать справку')
    .helpCommand('help [команда]', 'показать справку по команде')
    .configureHelp({
      styleTitle: (title: string) => TITLES[title] ?? title,
      subcommandTerm: (command) => command.name(),
      // commander's own additions (default, choices) are English; none is used here.
      optionDescription: (option) =>
        option.mandatory ? `${option.description} (обязательный)` : option.description,
    } satisfies Partial<Help>)
    .configureOutput({ outputError: (message, write) => write(translateError(message)) })
    .showHelpAfterError()
    // Usage errors end with exit code 2 (see runCli), not commander's 1 and not process.exit().
    .exitOverride()
    .addHelpText(
      'after',
      '\nСправка по команде: npm run cli -- <команда> --help\n' +
        'Коды выхода: 0 — выполнено; 2 — неверная команда, параметр или значение, отказ службы;\n' +
        '1 — прочие ошибки (база данных недоступна, не применены миграции).',
    );
  registerOrganizationCommands(program);
  registerOperatorCommands(program);
  registerAccountCommands(program);
  registerClientCommands(program);
  registerMemberCommands(program);
  return program;
}

/** Runs the program on `argv` (as process.argv: node, script, …) and returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof CommanderError)
      // Help asked for (`--help`, `help <command>`) is 0; any usage error, or no command at all, 2.
      return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
}
