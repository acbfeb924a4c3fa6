import { HttpStatus } from '@nestjs/common';
import { DomainError } from '../../common/errors.js';

/** What the dry run and the import say of one row. */
export type RowOutcome =
  | 'will_invite'
  | 'invited'
  | 'already_member'
  | 'email_taken'
  | 'invalid_email'
  | 'invalid_name'
  | 'invalid_snils'
  | 'snils_not_requested'
  | 'unknown_role'
  | 'roles_required'
  | 'organization_outside'
  | 'duplicate_in_file'
  | 'failed';

/** The Russian words for each outcome, shown on the page and written to the report. */
export const OUTCOME_TEXTS: Record<RowOutcome, string> = {
  will_invite: 'будет приглашён',
  invited: 'приглашён',
  already_member: 'уже участник',
  email_taken: 'адрес уже используется другой учётной записью',
  invalid_email: 'неверный e-mail',
  invalid_name: 'не указаны или неверно указаны фамилия и имя',
  invalid_snils: 'СНИЛС указан с ошибкой',
  snils_not_requested: 'СНИЛС не запрашивается у Госуслуг: оставьте столбец пустым',
  unknown_role: 'неизвестная роль',
  roles_required: 'не указаны роли',
  organization_outside: 'организация вне вашего подразделения',
  duplicate_in_file: 'повторяется в файле',
  failed: 'не удалось пригласить',
};

/** Rows that are (or would be) written; every other outcome leaves the row out. */
export const GOOD_OUTCOMES: readonly RowOutcome[] = ['will_invite', 'invited'];

const MEGABYTE = 1024 * 1024;

/** Refusals of a file as a whole, each with its stable code. */
export const ImportErrors = {
  emptyFile: () =>
    new DomainError(
      HttpStatus.UNPROCESSABLE_ENTITY,
      'import_empty_file',
      'В файле нет строк для импорта: нужна строка заголовков и хотя бы одна строка с данными',
    ),
  badHeader: (missing: string[]) =>
    new DomainError(
      HttpStatus.UNPROCESSABLE_ENTITY,
      'import_bad_header',
      `В первой строке файла нет столбцов: ${missing.join(', ')}. Возьмите за основу шаблон.`,
    ),
  tooManyRows: (limit: number) =>
    new DomainError(
      HttpStatus.UNPROCESSABLE_ENTITY,
      'import_too_many_rows',
      `В файле больше ${limit} строк: разделите его на несколько файлов`,
    ),
  tooLarge: (limit: number) =>
    new DomainError(
      HttpStatus.UNPROCESSABLE_ENTITY,
      'import_file_too_large',
      `Файл больше ${limit / MEGABYTE} МБ: разделите его на несколько файлов`,
    ),
  unpackedTooLarge: (limit: number) =>
    new DomainError(
      HttpStatus.UNPROCESSABLE_ENTITY,
      'import_file_too_large',
      `Файл XLSX после распаковки больше ${limit / MEGABYTE} МБ: сохраните в нём только лист с пользователями или разделите его`,
    ),
  unreadable: (cause?: unknown) =>
    new DomainError(
      HttpStatus.UNPROCESSABLE_ENTITY,
      'import_unreadable_file',
      'Файл не удалось прочитать: нужен CSV (UTF-8 или Windows-1251) или XLSX',
      undefined,
      { cause },
    ),
  noFile: () =>
    new DomainError(
      HttpStatus.UNPROCESSABLE_ENTITY,
      'import_no_file',
      'Выберите файл CSV или XLSX',
    ),
};
