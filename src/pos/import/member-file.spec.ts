import { describe, expect, it } from '@jest/globals';
import iconv from 'iconv-lite';
import { DomainError } from '../../common/errors.js';
import {
  decodeText,
  detectSeparator,
  parseCsv,
  readMemberFile,
  tableRows,
  templateCsv,
} from './member-file.js';

const codeOf = async (work: () => unknown): Promise<string | undefined> => {
  try {
    await work();
  } catch (error) {
    return error instanceof DomainError ? error.code : 'not a DomainError';
  }
  return undefined;
};

describe('member import files', () => {
  it('reads UTF-8 with and without a byte-order mark, and Windows-1251 otherwise', () => {
    expect(decodeText(Buffer.from('\uFEFFЁлка;Щука', 'utf8'))).toBe('Ёлка;Щука');
    expect(decodeText(Buffer.from('Ёлка;Щука', 'utf8'))).toBe('Ёлка;Щука');
    expect(decodeText(iconv.encode('Ёлка;Щука', 'win1251'))).toBe('Ёлка;Щука');
  });

  it('takes the separator the header line has more of', () => {
    expect(detectSeparator('Фамилия;Имя;E-mail\nа,б;в;г')).toBe(';');
    expect(detectSeparator('Фамилия,Имя,E-mail\nа;б,в,г')).toBe(',');
  });

  it('parses quoted cells with separators, quotes and line breaks', () => {
    expect(parseCsv('a;"b;c";"d ""e"""\r\n"f\ng";h\n', ';')).toEqual([
      ['a', 'b;c', 'd "e"'],
      ['f\ng', 'h'],
    ]);
  });

  it('maps the columns by their header in any order and skips empty lines', () => {
    const rows = tableRows([
      ['Роли', 'e-mail', 'Имя', 'Фамилия', 'Лишний столбец'],
      ['', '', '', ''],
      ['Исполнитель', ' a@b.ru ', 'Анна', 'Соколова', 'x'],
    ]);
    expect(rows).toEqual([
      {
        row: 3,
        cells: { roles: 'Исполнитель', email: 'a@b.ru', firstName: 'Анна', lastName: 'Соколова' },
      },
    ]);
  });

  it('reads a header with a note in parentheses as its column', () => {
    const rows = tableRows([
      ['Фамилия', 'Имя', 'E-mail', 'Роли', 'Организация (номер ЛКО или id)'],
      ['Соколова', 'Анна', 'a@b.ru', 'Исполнитель', '100002'],
    ]);
    expect(rows[0].cells.organization).toBe('100002');
  });

  it('refuses a file without the required columns, an empty one, and one over 5,000 rows', async () => {
    expect(await codeOf(() => tableRows([['Фамилия', 'Имя']]))).toBe('import_bad_header');
    expect(await codeOf(() => readMemberFile(Buffer.alloc(0)))).toBe('import_empty_file');
    const header = ['Фамилия', 'Имя', 'E-mail', 'Роли'];
    const row = ['А', 'Б', 'a@b.ru', 'Исполнитель'];
    expect(tableRows([header, ...Array.from({ length: 5000 }, () => row)])).toHaveLength(5000);
    expect(
      await codeOf(() => tableRows([header, ...Array.from({ length: 5001 }, () => row)])),
    ).toBe('import_too_many_rows');
  });

  it('reads its own template', async () => {
    const rows = await readMemberFile(Buffer.from(templateCsv(), 'utf8'));
    expect(rows).toHaveLength(1);
    expect(rows[0].cells).toMatchObject({ lastName: 'Соколова', roles: 'Администратор ЛКО' });
  });
});
