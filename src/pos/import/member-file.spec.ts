import { describe, expect, it } from '@jest/globals';
import iconv from 'iconv-lite';
import { deflateRawSync } from 'node:zlib';
import { DomainError } from '../../common/errors.js';
import {
  decodeText,
  detectSeparator,
  parseCsv,
  readMemberFile,
  tableRows,
  templateCsv,
} from './member-file.js';
import { unpackedZipSize } from './zip-bounds.js';

/** A ZIP record: its signature, then little-endian fields as [offset, bytes, value]. */
function zipRecord(length: number, signature: number, fields: [number, 2 | 4, number][]): Buffer {
  const record = Buffer.alloc(length);
  record.writeUInt32LE(signature, 0);
  for (const [offset, bytes, value] of fields) record.writeUIntLE(value, offset, bytes);
  return record;
}

/** A ZIP archive of deflated entries, written by hand; `declared` overrides the sizes it states. */
function zipOf(entries: { name: string; data: Buffer; declared?: number }[]): Buffer {
  const locals: Buffer[] = [];
  const directory: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name);
    const packed = deflateRawSync(entry.data);
    const size = entry.declared ?? entry.data.length;
    // Version needed 2.0, method 8 (deflate), compressed and stated sizes, name length.
    const local = zipRecord(30, 0x04034b50, [
      [4, 2, 20],
      [8, 2, 8],
      [18, 4, packed.length],
      [22, 4, size],
      [26, 2, name.length],
    ]);
    // The same, after the version made by, and the local record's offset.
    const central = zipRecord(46, 0x02014b50, [
      [4, 2, 20],
      [6, 2, 20],
      [10, 2, 8],
      [20, 4, packed.length],
      [24, 4, size],
      [28, 2, name.length],
      [42, 4, offset],
    ]);
    locals.push(local, name, packed);
    directory.push(central, name);
    offset += 30 + name.length + packed.length;
  }
  const centralBytes = Buffer.concat(directory);
  // Entries on this disk and in all, the directory's size and offset.
  const end = zipRecord(22, 0x06054b50, [
    [8, 2, entries.length],
    [10, 2, entries.length],
    [12, 4, centralBytes.length],
    [16, 4, offset],
  ]);
  return Buffer.concat([...locals, centralBytes, end]);
}

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
    expect([...parseCsv('a;"b;c";"d ""e"""\r\n"f\ng";h\n', ';')]).toEqual([
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

  it('stops reading a CSV of many short lines as soon as it has more than 5,000 rows', async () => {
    const header = 'Фамилия;Имя;E-mail;Роли\n';
    const line = 'А;Б;a@b.ru;И\n';
    const text = header + line.repeat(100_000);
    // The text as the parser reads it, character by character: how far did it get?
    let furthest = 0;
    const watched = new Proxy(new String(text), {
      get(target, key) {
        if (typeof key === 'string' && /^\d+$/.test(key))
          furthest = Math.max(furthest, Number(key));
        const value: unknown = Reflect.get(target, key);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    }) as unknown as string;
    expect(await codeOf(() => tableRows(parseCsv(watched, ';')))).toBe('import_too_many_rows');
    expect(furthest).toBeLessThan(header.length + line.length * 5002);
  });

  it('reads its own template', async () => {
    const rows = await readMemberFile(Buffer.from(templateCsv(), 'utf8'));
    expect(rows).toHaveLength(1);
    expect(rows[0].cells).toMatchObject({ lastName: 'Соколова', roles: 'Администратор ЛКО' });
  });

  it('refuses an XLSX zip bomb before it is unpacked, whatever sizes the archive declares', async () => {
    const zeros = Buffer.alloc(80 * 1024 * 1024);
    const honest = zipOf([{ name: 'xl/worksheets/sheet1.xml', data: zeros }]);
    const lying = zipOf([{ name: 'xl/worksheets/sheet1.xml', data: zeros, declared: 1000 }]);
    expect(honest.length).toBeLessThan(1024 * 1024);
    expect(unpackedZipSize(honest, 64 * 1024 * 1024)).toEqual({ refused: 'too_large' });
    expect(unpackedZipSize(lying, 64 * 1024 * 1024)).toEqual({ refused: 'too_large' });
    expect(await codeOf(() => readMemberFile(lying))).toBe('import_file_too_large');
    const small = zipOf([{ name: 'a.xml', data: Buffer.from('<a/>') }]);
    expect(unpackedZipSize(small, 64 * 1024 * 1024)).toEqual({ size: 4 });
    expect(unpackedZipSize(Buffer.from('PK\u0003\u0004 broken'), 1024)).toEqual({
      refused: 'not_zip',
    });
  });

  it('reads only the cells present in an XLSX row: a cell in the last column (XFD) makes no 16,384 empty ones', async () => {
    const { default: ExcelJS } = await import('exceljs');
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('Пользователи');
    sheet.addRow(['Фамилия', 'Имя', 'E-mail', 'Роли']);
    for (let i = 0; i < 500; i++) {
      const row = sheet.addRow(['Соколова', 'Анна', `a${i}@school.example.ru`, 'Исполнитель']);
      row.getCell(16_384).value = 'x';
    }
    const bytes = Buffer.from(await workbook.xlsx.writeBuffer());
    const rows = await readMemberFile(bytes);
    expect(rows).toHaveLength(500);
    expect(rows[499].cells).toMatchObject({ email: 'a499@school.example.ru' });
  });
});
