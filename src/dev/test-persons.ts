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
}

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
    email_verified: true,
    trusted: person.trusted,
    'urn:esia:sbj': { typ: 'P', oid: person.oid, nam: `OID.${person.oid}` },
  };
}
