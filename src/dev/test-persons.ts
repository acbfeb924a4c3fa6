/**
 * Test persons of the development Госуслуги stand-in. Invented people with invented identifiers:
 * claims shaped like ЕСИА's (numeric oid as subject, urn:esia:sbj, names, SNILS, trusted flag).
 */
export interface TestPerson {
  oid: number;
  lastName: string;
  firstName: string;
  middleName: string;
  snils: string;
  email: string;
  trusted: boolean;
  note: string;
  /** ЕСИА's contacts (`/rs/prns/{oid}/ctts`): EML and MBT with their verification state. */
  contacts: { type: 'EML' | 'MBT'; value: string; verified: boolean }[];
  /** ЕСИА's organisations of the person (`/rs/prns/{oid}/roles`, scope usr_org). */
  organizations: {
    oid: number;
    fullName: string;
    shortName: string;
    ogrn: string;
    chief: boolean;
    admin: boolean;
  }[];
}

const SCHOOL = {
  oid: 1000000101,
  fullName: 'Муниципальное бюджетное общеобразовательное учреждение «Школа № 1» (тестовое)',
  shortName: 'МБОУ «Школа № 1» (тестовое)',
  ogrn: '1000000000001',
};
const GYMNASIUM = {
  oid: 1000000102,
  fullName: 'Муниципальное автономное общеобразовательное учреждение «Гимназия № 2» (тестовое)',
  shortName: 'МАОУ «Гимназия № 2» (тестовое)',
  ogrn: '1000000000002',
};

export const TEST_PERSONS: readonly TestPerson[] = [
  {
    oid: 1000000001,
    lastName: 'Иванова',
    firstName: 'Мария',
    middleName: 'Сергеевна',
    snils: '000-000-001 01',
    email: 'ivanova.test@example.ru',
    trusted: true,
    note: 'Подтверждённая учётная запись, родитель',
    contacts: [
      { type: 'EML', value: 'ivanova.test@example.ru', verified: true },
      { type: 'MBT', value: '+7(900)0000001', verified: true },
    ],
    organizations: [],
  },
  {
    oid: 1000000002,
    lastName: 'Петров',
    firstName: 'Алексей',
    middleName: 'Игоревич',
    snils: '000-000-002 02',
    email: 'petrov.test@example.ru',
    trusted: true,
    note: 'Подтверждённая учётная запись, учитель',
    contacts: [
      { type: 'EML', value: 'petrov.test@example.ru', verified: true },
      { type: 'MBT', value: '+7(900)0000002', verified: false },
    ],
    organizations: [{ ...GYMNASIUM, chief: false, admin: false }],
  },
  {
    oid: 1000000003,
    lastName: 'Смирнова',
    firstName: 'Ольга',
    middleName: 'Викторовна',
    snils: '000-000-003 03',
    email: 'smirnova.test@example.ru',
    trusted: false,
    note: 'Упрощённая (неподтверждённая) учётная запись',
    contacts: [
      { type: 'EML', value: 'smirnova.test@example.ru', verified: false },
      { type: 'MBT', value: '+7(900)0000003', verified: false },
    ],
    organizations: [],
  },
  {
    oid: 1000000004,
    lastName: 'Кузнецов',
    firstName: 'Дмитрий',
    middleName: 'Андреевич',
    snils: '000-000-004 04',
    email: 'kuznetsov.test@example.ru',
    trusted: true,
    note: 'Администратор ЛКО',
    contacts: [
      { type: 'EML', value: 'kuznetsov.test@example.ru', verified: true },
      { type: 'MBT', value: '+7(900)0000004', verified: true },
    ],
    organizations: [{ ...SCHOOL, chief: false, admin: true }],
  },
  {
    oid: 1000000005,
    lastName: 'Соколова',
    firstName: 'Анна',
    middleName: 'Павловна',
    snils: '000-000-005 05',
    email: 'sokolova.test@example.ru',
    trusted: true,
    note: 'Сотрудник учреждения',
    contacts: [
      { type: 'EML', value: 'sokolova.test@example.ru', verified: true },
      { type: 'MBT', value: '+7(900)0000005', verified: true },
    ],
    organizations: [{ ...SCHOOL, chief: false, admin: false }],
  },
  {
    oid: 1000000006,
    lastName: 'Петров',
    firstName: 'Алексей',
    middleName: 'Игоревич',
    snils: '000-000-006 06',
    email: 'petrov.namesake.test@example.ru',
    trusted: true,
    note: 'Полный тёзка Петрова А. И.: другой СНИЛС',
    contacts: [{ type: 'EML', value: 'petrov.namesake.test@example.ru', verified: true }],
    organizations: [],
  },
  {
    oid: 1000000007,
    lastName: 'Новикова',
    firstName: 'Елена',
    middleName: 'Андреевна',
    snils: '000-000-007 07',
    email: 'novikova.test@example.ru',
    trusted: true,
    note: 'Подтверждённая учётная запись, учитель двух школ',
    contacts: [{ type: 'EML', value: 'novikova.test@example.ru', verified: true }],
    organizations: [],
  },
  {
    oid: 1000000008,
    lastName: 'Фёдоров',
    firstName: 'Илья',
    middleName: 'Сергеевич',
    snils: '000-000-008 08',
    email: 'fedorov.test@example.ru',
    trusted: true,
    note: 'Подтверждённая учётная запись, «ё» в фамилии',
    contacts: [{ type: 'EML', value: 'fedorov.test@example.ru', verified: true }],
    organizations: [],
  },
];

export function findTestPerson(oid: string | number): TestPerson | undefined {
  return TEST_PERSONS.find((person) => String(person.oid) === String(oid));
}

/** The claims the stand-in releases for a person, by scope. */
export function personClaims(person: TestPerson) {
  return {
    sub: String(person.oid),
    family_name: person.lastName,
    given_name: person.firstName,
    middle_name: person.middleName,
    snils: person.snils,
    email: person.email,
    email_verified: person.contacts.some((c) => c.type === 'EML' && c.verified),
    trusted: person.trusted,
    'urn:esia:sbj': { typ: 'P', oid: person.oid, nam: `OID.${person.oid}` },
  };
}
