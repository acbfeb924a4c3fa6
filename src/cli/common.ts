import { type Command } from 'commander';
import { CliFailure, type CliOutput, createOutput, reportFailure } from './output.js';

/**
 * Every command's common options: `--json` (one JSON object on stdout instead of lines for a
 * person) and `--migrate` (apply pending migrations first; without it a command on a database that
 * lacks migrations stops and says so).
 */
export function commonOptions(command: Command): Command {
  return command
    .usage('[параметры]')
    .option('--json', 'вывести результат одним объектом JSON (для скриптов)')
    .option('--migrate', 'сначала применить недостающие миграции базы данных');
}

/** The options every action receives, whatever its own. */
export interface CommonOptions {
  json?: boolean;
  migrate?: boolean;
}

/**
 * Wraps an action: the output in the chosen form, and a failure reported the same way (stderr for
 * a person, plus one JSON object on stdout with --json) with its exit code.
 */
export function action<O extends CommonOptions>(
  run: (options: O, out: CliOutput, command: Command) => Promise<void>,
): (options: O, command: Command) => Promise<void> {
  return async (options, command) => {
    const out = createOutput(Boolean(options.json));
    try {
      await run(options, out, command);
    } catch (error) {
      process.exitCode = await reportFailure(error, out);
    }
  };
}

/** A usage error found by an action (options that go together): message and usage, exit 2. */
export function usageError(command: Command, message: string): never {
  command.error(`ошибка: ${message}`, { exitCode: 2, code: 'cli.usage' });
  throw new CliFailure(2, 'usage', message);
}
