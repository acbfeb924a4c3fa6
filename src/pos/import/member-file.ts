import iconv from 'iconv-lite';
import { ImportErrors } from './import.texts.js';
import { unpackedZipSize } from './zip-bounds.js';

/** Rows of one file at most; more is refused as a whole (the administrator splits the file). */
export const MAX_IMPORT_ROWS = 5000;
/** Bytes of one file at most (5,000 rows with long names fit in well under a megabyte). */
export const MAX_IMPORT_BYTES = 5 * 1024 * 1024;
/** What an XLSX file may unpack to (a zip bomb is refused before it is unpacked in memory). */
export const MAX_XLSX_UNPACKED_BYTES = 64 * 1024 * 1024;
/** Columns read from a sheet; the template has seven. */
const MAX_XLSX_COLUMNS = 50;

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** The template's columns, in its order; the header names the columns, so any order is read. */
export const IMPORT_COLUMNS = {
  lastName: 'Фамилия',
  firstName: 'Имя',
  middleName: 'Отчество',
  email: 'E-mail',
  snils: 'СНИЛС',
  roles: 'Роли',
  organization: 'Организация',
} as const;
export type ImportColumn = keyof typeof IMPORT_COLUMNS;

const REQUIRED: ImportColumn[] = ['lastName', 'firstName', 'email', 'roles'];

/** One data row as the file has it: its line number (the header is row 1) and its cells. */
export interface RawRow {
  row: number;
  cells: Partial<Record<ImportColumn, string>>;
}

/** UTF-8 when the bytes are valid UTF-8 (a byte-order mark is dropped), else Windows-1251. */
export function decodeText(bytes: Buffer): string {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return text.startsWith('\uFEFF') ? text.slice(1) : text;
  } catch {
    return iconv.decode(bytes, 'win1251');
  }
}

/**
 * RFC 4180 records: quoted cells may hold the separator, quotes ("") and line breaks. Made one at
 * a time as the reader asks for them, so a file of many short lines stops being read as soon as
 * tableRows has seen too many rows (no array of every line first).
 */
export function* parseCsv(text: string, separator: string): Generator<string[], void, undefined> {
  let record: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"' && cell === '') quoted = true;
    else if (char === separator) {
      record.push(cell);
      cell = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i++;
      record.push(cell);
      yield record;
      record = [];
      cell = '';
    } else cell += char;
  }
  if (cell !== '' || record.length > 0) {
    record.push(cell);
    yield record;
  }
}

/** `;` or `,`: whichever the header line has more of (a spreadsheet in Russia writes `;`). */
export function detectSeparator(text: string): ';' | ',' {
  const header = text.slice(0, text.search(/\r|\n|$/));
  const count = (char: string) => header.split(char).length - 1;
  return count(',') > count(';') ? ',' : ';';
}

/** A header as compared: «Организация (ЛКО или id)», «e-mail» and «E-mail» are the same column. */
const canonical = (header: string) =>
  header
    .replace(/\(.*\)/, '')
    .trim()
    .toLowerCase()
    .replace(/ё/g, 'е')
    .replace(/[\s\-–_]/g, '');

const HEADER_NAMES = new Map<string, ImportColumn>(
  Object.entries(IMPORT_COLUMNS).map(([key, name]) => [canonical(name), key as ImportColumn]),
);
// Accepted spellings besides the template's.
HEADER_NAMES.set('email', 'email');
HEADER_NAMES.set('почта', 'email');
HEADER_NAMES.set('роль', 'roles');
HEADER_NAMES.set('лко', 'organization');

/**
 * Table rows (header first) into raw rows; empty lines are skipped, limits enforced while the
 * records are read: the 5,001st row stops the reading.
 */
export function tableRows(table: Iterable<string[]>): RawRow[] {
  const nonEmpty = (cells: string[]) => cells.some((cell) => cell.trim() !== '');
  let columns: (ImportColumn | undefined)[] | undefined;
  const rows: RawRow[] = [];
  let line = 0;
  for (const record of table) {
    line += 1;
    if (!nonEmpty(record)) continue;
    if (!columns) {
      columns = record.map((name) => HEADER_NAMES.get(canonical(name)));
      const present = columns;
      const missing = REQUIRED.filter((column) => !present.includes(column));
      if (missing.length > 0) throw ImportErrors.badHeader(missing.map((c) => IMPORT_COLUMNS[c]));
      continue;
    }
    if (rows.length >= MAX_IMPORT_ROWS) throw ImportErrors.tooManyRows(MAX_IMPORT_ROWS);
    const cells: RawRow['cells'] = {};
    record.forEach((value, index) => {
      const column = columns![index];
      if (column && value.trim() !== '') cells[column] = value.trim();
    });
    rows.push({ row: line, cells });
  }
  if (!columns) throw ImportErrors.emptyFile();
  if (rows.length === 0) throw ImportErrors.emptyFile();
  return rows;
}

/** An XLSX file starts as a ZIP archive does. */
export function looksLikeXlsx(bytes: Buffer): boolean {
  return bytes.length > 4 && bytes.readUInt32LE(0) === 0x04034b50;
}

/** The first sheet of an XLSX workbook as a table of text cells. */
async function xlsxTable(bytes: Buffer): Promise<string[][]> {
  const unpacked = unpackedZipSize(bytes, MAX_XLSX_UNPACKED_BYTES);
  if ('refused' in unpacked)
    throw unpacked.refused === 'too_large'
      ? ImportErrors.unpackedTooLarge(MAX_XLSX_UNPACKED_BYTES)
      : ImportErrors.unreadable(unpacked.refused);
  const { default: ExcelJS } = await import('exceljs');
  const workbook = new ExcelJS.Workbook();
  try {
    await workbook.xlsx.load(bytes as unknown as ArrayBuffer);
  } catch (error) {
    throw ImportErrors.unreadable(error);
  }
  const sheet = workbook.worksheets[0];
  if (!sheet) throw ImportErrors.emptyFile();
  if (sheet.rowCount > MAX_IMPORT_ROWS + 1000) throw ImportErrors.tooManyRows(MAX_IMPORT_ROWS);
  const table: string[][] = [];
  sheet.eachRow({ includeEmpty: true }, (row, number) => {
    const cells: string[] = [];
    // The cells present only: with `includeEmpty` one cell in column XFD makes 16,384 of them.
    row.eachCell((cell, column) => {
      if (column <= MAX_XLSX_COLUMNS) cells[column - 1] = cell.text ?? '';
    });
    table[number - 1] = Array.from(cells, (cell) => cell ?? '');
  });
  return Array.from(table, (cells) => cells ?? []);
}

/** A CSV (UTF-8 or Windows-1251, `;` or `,`) or XLSX file into raw rows. */
export async function readMemberFile(bytes: Buffer): Promise<RawRow[]> {
  if (bytes.length === 0) throw ImportErrors.emptyFile();
  if (bytes.length > MAX_IMPORT_BYTES) throw ImportErrors.tooLarge(MAX_IMPORT_BYTES);
  if (looksLikeXlsx(bytes)) return tableRows(await xlsxTable(bytes));
  const text = decodeText(bytes);
  if (text.includes('\u0000')) throw ImportErrors.unreadable();
  return tableRows(parseCsv(text, detectSeparator(text)));
}

/** The template: the header and one example row, `;` separated, UTF-8 with a byte-order mark. */
export function templateCsv(): string {
  const example = [
    'Соколова',
    'Анна',
    'Павловна',
    'director@school5.example.ru',
    '112-233-445 95',
    'Администратор ЛКО',
    '',
  ];
  return (
    '\uFEFF' + [Object.values(IMPORT_COLUMNS).join(';'), example.join(';')].join('\r\n') + '\r\n'
  );
}
