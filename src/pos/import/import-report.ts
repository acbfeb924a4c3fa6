import { roleName } from '../roles.js';
import { csvCell } from '../report.service.js';
import { type ImportResult } from './member-import.service.js';

const HEADERS = [
  'Строка файла',
  'Фамилия',
  'Имя',
  'Отчество',
  'E-mail',
  'Роли',
  'Номер ЛКО',
  'Результат',
  'Код',
];

/**
 * The outcome of each row, as the status report is written (`;`, UTF-8 with a byte-order mark,
 * every cell through csvCell: names come from the uploaded file and must not become formulas).
 */
export function importReportCsv(result: ImportResult): string {
  const lines = result.rows.map((row) =>
    [
      row.row,
      row.lastName,
      row.firstName,
      row.middleName,
      row.email,
      row.roles.map(roleName).join(', '),
      row.lkoNumber ?? '',
      row.message,
      row.outcome,
    ]
      .map(csvCell)
      .join(';'),
  );
  return '\uFEFF' + [HEADERS.join(';'), ...lines].join('\r\n') + '\r\n';
}
