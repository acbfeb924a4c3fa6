import fc from 'fast-check';
import { parse as parseForm } from 'node:querystring';
import {
  anyJson,
  anyKey,
  deeplyNested,
  hostileText,
  type Json,
  jsonText,
  longText,
  percentEncode,
  plausible,
  raw,
  scalar,
  spliced,
  str,
  TRAVERSAL,
  wrongType,
} from './arbitraries.js';
import { type DtoField } from './dto-fields.js';
import { type HandlerInputs } from './routes.js';

/** One request the fuzzer sends, and what the service must make of it. */
export interface FuzzRequest {
  method: string;
  /** Path with query string, already encoded (possibly malformed on purpose). */
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** Why the service must refuse it (no success status), or null when it may accept it. */
  refused: string | null;
  /** Top-level keys the body sent: a 422 may name them as well as the DTO's fields. */
  sentKeys: string[];
  /** How the request was built, for the failure report. */
  shape: string;
}

/** The caller a route is fuzzed as: cookies (session, form token), the form token, its values. */
export interface Caller {
  cookie: string | null;
  csrf: string;
  /** Whether the session cookie is this caller's proof (for the same-origin rule). */
  signedIn: boolean;
}

export interface RouteFuzz {
  handler: HandlerInputs;
  fields: DtoField[];
  page: boolean;
  caller: Caller;
  origin: string;
  /** Good values by field, query or path parameter name (ids of the fixtures, the form token). */
  known: Record<string, string[]>;
  /** Query keys the handler reads from the request itself rather than through `@Query`. */
  rawQuery: string[];
}

const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

/**
 * Keys that never reach a DTO, so are not reported as unknown: Nest's ValidationPipe deletes
 * `__proto__`, `prototype` and `constructor` first, and class-transformer skips names the DTO
 * inherits (`toString`, `hasOwnProperty`...).
 */
const dropped = (key: string) =>
  key === '__proto__' || key === 'prototype' || key === 'constructor' || key in Object.prototype;

/**
 * Names whose values the suite's log check (test/support/log-capture.ts) records as secrets:
 * password, token, form-token, state and code fields, `code`/`state` in a query, link tokens in a
 * path. Any later log line that holds such a value counts as a leak, so the fuzzer never sends the
 * same hostile value there twice: long ones get a random prefix. Short ones (under the check's
 * 8 characters) are never recorded and go as they are.
 */
const SECRET_NAME = /password|^token$|^csrf$|^state$|^code$|^nonce$|^code_challenge$/i;

/** Unbiased, so two requests practically never share one (fast-check favours small values). */
const prefix = fc
  .noBias(fc.bigInt({ min: 0n, max: 2n ** 64n }))
  .map((n) => `q${n.toString(36).padStart(13, '0')}`);

function unrecorded(value: fc.Arbitrary<string>, secret: boolean): fc.Arbitrary<string> {
  if (!secret) return value;
  return fc.tuple(prefix, value).map(([p, v]) => (v.length >= 8 ? `${p}${v}` : v));
}

/** Headers and cookies are recorded as sent (encoded): their noise is always made unique. */
const uniqueNoise = fc.tuple(prefix, hostileText).map(([p, v]) => `${p}${percentEncode(v)}`);

/** The keys of a urlencoded body as written and as decoded (a parser may keep either). */
function formKeys(text: string): string[] {
  const keys = new Set(Object.keys(parseForm(text)));
  for (const part of text.split('&')) {
    const key = part.split('=')[0];
    keys.add(key);
    // qs (body-parser's urlencoded parser) turns %5B/%5D into brackets before decoding a key, and
    // keeps a key that does not decode as it is.
    const bracketed = key.replace(/\+/g, ' ').replace(/%5B/gi, '[').replace(/%5D/gi, ']');
    keys.add(bracketed);
    try {
      keys.add(decodeURIComponent(bracketed));
    } catch {
      // Kept as written.
    }
  }
  return [...keys];
}

interface Slot {
  node: Json | null;
  refused: string | null;
}

/** Whether the validation pipe must refuse `node` for `field`, whatever else the body holds. */
function refusedValue(field: DtoField, node: Json): string | null {
  if (node.kind === 'raw' && node.text === 'null')
    return field.optional ? null : `${field.name}: null for a required field`;
  switch (field.type) {
    case 'string':
      return node.kind === 'string' ? null : `${field.name}: not a string`;
    case 'boolean':
      return node.kind === 'raw' && (node.text === 'true' || node.text === 'false')
        ? null
        : `${field.name}: not a boolean`;
    case 'array':
      return node.kind === 'raw' || node.kind === 'object' ? `${field.name}: not a list` : null;
    case 'unknown':
      return null;
  }
}

function jsonSlot(field: DtoField, known: string[]): fc.Arbitrary<Slot> {
  const secret = SECRET_NAME.test(field.name);
  const good = plausible(field, known);
  const goodText = good.map((node) => (node.kind === 'string' ? node.value : jsonText(node)));
  return fc.oneof(
    { weight: 4, arbitrary: good.map((node) => ({ node, refused: null })) },
    {
      weight: 3,
      arbitrary: unrecorded(hostileText, secret).map((value) => ({
        node: str(value),
        refused: refusedValue(field, str(value)),
      })),
    },
    {
      weight: 2,
      arbitrary: unrecorded(spliced(goodText), secret).map((value) => ({
        node: str(value),
        refused: refusedValue(field, str(value)),
      })),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(prefix, wrongType).map(([p, node]) => {
        // anyJson may still be a string.
        const sent =
          secret && node.kind === 'string' && node.value.length >= 8
            ? str(`${p}${node.value}`)
            : node;
        return { node: sent, refused: refusedValue(field, sent) };
      }),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(prefix, longText()).map(([p, { value, plain }]) => ({
        node: str(secret ? `${p}${value}` : value),
        refused:
          refusedValue(field, str(value)) ??
          (plain && field.maxLength !== undefined && value.length > field.maxLength
            ? `${field.name}: longer than ${field.maxLength}`
            : null),
      })),
    },
    {
      weight: 1,
      arbitrary: fc.constant({
        node: null,
        refused: field.optional ? null : `${field.name}: required field missing`,
      }),
    },
    // A JSON null with the other fields good: refused (422) unless the field gives null a meaning,
    // never a 500 (PATCH …/organizations/:id {"name": null} was one).
    {
      weight: 1,
      arbitrary: fc.constant({
        node: raw('null'),
        refused: field.optional ? null : `${field.name}: null for a required field`,
      }),
    },
  );
}

/** Extra entries: unknown keys (prototype names, mass-assignment targets, hostile text). */
function extras(
  fields: DtoField[],
): fc.Arbitrary<{ entries: [string, Json][]; refused: string | null }> {
  const names = new Set(fields.map((f) => f.name));
  const entry = fc
    .tuple(anyKey, anyJson, prefix)
    .map(([key, node, p]): [string, Json] =>
      SECRET_NAME.test(key) && node.kind === 'string' && node.value.length >= 8
        ? [key, str(`${p}${node.value}`)]
        : [key, node],
    );
  return fc
    .array(entry, { maxLength: 3 })
    .map((list) => list.filter(([key]) => !names.has(key)))
    .map((entries) => {
      const plain = entries.find(([key]) => !dropped(key));
      return {
        entries,
        refused: plain ? `unknown field ${JSON.stringify(plain[0])}` : null,
      };
    });
}

interface Body {
  text: string;
  refused: string | null;
  sentKeys: string[];
  shape: string;
}

/**
 * Values for all fields: either each one drawn from the hostile mix, or all good but one, so that
 * requests also get past validation into the services with a single odd value.
 */
function slotsFor<S>(
  good: fc.Arbitrary<S>[],
  mixed: fc.Arbitrary<S>[],
): fc.Arbitrary<{ slots: S[]; oneOdd: boolean }> {
  const all = fc.tuple(...mixed).map((slots) => ({ slots, oneOdd: false }));
  if (good.length === 0) return all;
  const one = fc
    .tuple(
      fc.tuple(...good),
      fc.nat({ max: good.length - 1 }).chain((i) => mixed[i].map((slot) => ({ i, slot }))),
    )
    .map(([goods, { i, slot }]) => ({
      slots: goods.map((g, j) => (j === i ? slot : g)),
      oneOdd: true,
    }));
  return fc.oneof(all, one);
}

/** JSON bodies for a DTO: mostly objects of hostile and good fields, sometimes odd JSON texts. */
export function jsonBody(fields: DtoField[], known: Record<string, string[]>): fc.Arbitrary<Body> {
  const required = fields.filter((f) => !f.optional);
  const slots = slotsFor<Slot>(
    fields.map((f) => plausible(f, known[f.name] ?? []).map((node) => ({ node, refused: null }))),
    fields.map((f) => jsonSlot(f, known[f.name] ?? [])),
  );
  const object = fc.tuple(slots, extras(fields)).map(([{ slots: values, oneOdd }, extra]) => {
    const entries: [string, Json][] = [];
    fields.forEach((field, i) => {
      const node = values[i].node;
      if (node) entries.push([field.name, node]);
    });
    if (!oneOdd) entries.push(...extra.entries);
    const refused = values.find((v) => v.refused)?.refused ?? (oneOdd ? null : extra.refused);
    return { entries, refused };
  });
  const good = fc.tuple(...fields.map((f) => plausible(f, known[f.name] ?? [])));
  return fc.oneof(
    {
      weight: 12,
      arbitrary: object.map(({ entries, refused }) => ({
        text: jsonText({ kind: 'object', entries }),
        refused,
        sentKeys: entries.map(([key]) => key),
        shape: 'object',
      })),
    },
    {
      // Good values only under `__proto__`: they must not count as the request's own fields.
      weight: 1,
      arbitrary: good.map((nodes) => ({
        text: jsonText({
          kind: 'object',
          entries: [
            [
              '__proto__',
              { kind: 'object', entries: fields.map((f, i): [string, Json] => [f.name, nodes[i]]) },
            ],
          ],
        }),
        refused: required.length > 0 ? 'fields only under __proto__' : null,
        sentKeys: [],
        shape: 'fields under __proto__',
      })),
    },
    {
      weight: 1,
      arbitrary: object.map(({ entries }) => ({
        text: `[${jsonText({ kind: 'object', entries })}]`,
        refused: 'a list instead of an object',
        sentKeys: ['0'],
        shape: 'top-level array',
      })),
    },
    {
      weight: 1,
      arbitrary: fc.oneof(scalar, hostileText.map(str)).map((node) => ({
        text: jsonText(node),
        refused: 'a scalar instead of an object',
        sentKeys: [],
        shape: 'top-level scalar',
      })),
    },
    {
      weight: 1,
      arbitrary: object.chain(({ entries }) => {
        const text = jsonText({ kind: 'object', entries });
        return fc
          .constantFrom(
            text.slice(0, -1),
            `${text}garbage`,
            `${text.replace(/"/g, "'")}'`,
            `{"a":NaN}`,
            `{"a":1,}`,
            `{/*comment*/}`,
            `{"a":"\\x41"}`,
            `{"a":"\\ud800\\u"}`,
            '\u0000',
          )
          .map((malformed) => ({
            text: malformed,
            refused: 'malformed JSON',
            sentKeys: [],
            shape: 'malformed',
          }));
      }),
    },
    {
      weight: 1,
      arbitrary: object.map(({ entries }) => ({
        text: jsonText({
          kind: 'object',
          entries: [...entries, ['filler', str('x'.repeat(70_000))]],
        }),
        refused: 'body over the 64 KiB limit',
        sentKeys: [],
        shape: 'oversized',
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(deeplyNested, fc.constantFrom(...fields.map((f) => f.name), 'x'))
        .map(([node, key]) => ({
          text: jsonText({ kind: 'object', entries: [[key, node]] }),
          refused: 'nesting deeper than any request needs',
          sentKeys: [key],
          shape: 'deeply nested',
        })),
    },
  );
}

interface FormSlot {
  entries: [string, string][];
  refused: string | null;
}

/** A good value as form entries: a list is the same key repeated. */
function goodFormEntries(field: DtoField, known: string[]): fc.Arbitrary<[string, string][]> {
  return plausible(field, known).map((node): [string, string][] =>
    node.kind === 'string'
      ? [[field.name, node.value]]
      : node.kind === 'array'
        ? node.items.map((item): [string, string] => [
            field.name,
            item.kind === 'string' ? item.value : jsonText(item),
          ])
        : [[field.name, jsonText(node)]],
  );
}

function formSlot(field: DtoField, known: string[]): fc.Arbitrary<FormSlot> {
  const good = goodFormEntries(field, known);
  const secret = SECRET_NAME.test(field.name);
  const text = unrecorded(hostileText, secret);
  const single = (value: string) => ({
    entries: [[field.name, value]] as [string, string][],
    refused: null,
  });
  return fc.oneof(
    { weight: 4, arbitrary: good.map((entries) => ({ entries, refused: null })) },
    { weight: 3, arbitrary: text.map(single) },
    {
      weight: 2,
      arbitrary: unrecorded(spliced(good.map((entries) => entries[0]?.[1] ?? '')), secret).map(
        single,
      ),
    },
    {
      // A repeated key arrives as a list.
      weight: 1,
      arbitrary: fc.tuple(text, text).map(([a, b]) => ({
        entries: [
          [field.name, a],
          [field.name, b],
        ] as [string, string][],
        refused: field.type === 'string' ? `${field.name}: sent twice (a list)` : null,
      })),
    },
    {
      // With extended: false `a[b]` is a key of its own, not an object.
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom('[]', '[0]', '[__proto__]', '.x'), text)
        .map(([suffix, value]) => ({
          entries: [[`${field.name}${suffix}`, value]] as [string, string][],
          refused: `unknown field ${field.name}${suffix}`,
        })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(prefix, longText()).map(([p, { value, plain }]) => ({
        entries: [[field.name, secret ? `${p}${value}` : value]] as [string, string][],
        refused:
          plain && field.maxLength !== undefined && value.length > field.maxLength
            ? `${field.name}: longer than ${field.maxLength}`
            : null,
      })),
    },
    {
      weight: 1,
      arbitrary: fc.constant({
        entries: [] as [string, string][],
        refused: field.optional ? null : `${field.name}: required field missing`,
      }),
    },
  );
}

/** Form (urlencoded) bodies for a page's form DTO. */
export function formBody(fields: DtoField[], known: Record<string, string[]>): fc.Arbitrary<Body> {
  const names = new Set(fields.map((f) => f.name));
  const extra = fc
    .array(
      fc
        .tuple(anyKey, hostileText, prefix)
        .map(([key, value, p]): [string, string] => [
          key,
          SECRET_NAME.test(key) && value.length >= 8 ? `${p}${value}` : value,
        ]),
      { maxLength: 3 },
    )
    .map((list) => list.filter(([key]) => !names.has(key)));
  const slots = slotsFor<FormSlot>(
    fields.map((f) =>
      goodFormEntries(f, known[f.name] ?? []).map((entries) => ({ entries, refused: null })),
    ),
    fields.map((f) => formSlot(f, known[f.name] ?? [])),
  );
  return fc
    .tuple(slots, extra, fc.constantFrom('', '', '', '&&', '&=', '&%zz=%', '&a'))
    .map(([{ slots: values, oneOdd }, extraList, junk]) => {
      const extraEntries = oneOdd ? [] : extraList;
      const tail = oneOdd ? '' : junk;
      const entries = [...values.flatMap((slot) => slot.entries), ...extraEntries];
      // The urlencoded parser skips an empty key.
      const plain = extraEntries.find(([key]) => !dropped(key) && key !== '');
      const text =
        entries.map(([key, value]) => `${percentEncode(key)}=${percentEncode(value)}`).join('&') +
        tail;
      const refused =
        values.find((slot) => slot.refused)?.refused ??
        (plain ? `unknown field ${JSON.stringify(plain[0])}` : null) ??
        (text.length > 64 * 1024 ? 'body over the 64 KiB limit' : null);
      return { text, refused, sentKeys: formKeys(text), shape: 'form' };
    });
}

/** A path parameter: good ids, near-miss UUIDs, hostile text, traversal left unencoded. */
function pathValue(known: string[], secret: boolean): fc.Arbitrary<string> {
  const value = fc.oneof(
    {
      weight: 3,
      arbitrary: known.length > 0 ? fc.constantFrom(...known) : fc.uuid({ version: 4 }),
    },
    { weight: 2, arbitrary: fc.uuid({ version: 4 }) },
    {
      weight: 2,
      arbitrary: fc
        .uuid({ version: 4 })
        .chain((id) =>
          fc.constantFrom(
            id.toUpperCase(),
            `{${id}}`,
            id.slice(0, -1),
            `${id}0`,
            id.replace(/-/g, ''),
            `${id}%0A`,
            `${id}%00`,
            `${id}%20`,
            '00000000-0000-0000-0000-000000000000',
            'ffffffff-ffff-1fff-8fff-ffffffffffff',
            id.replace(/^./, 'g'),
          ),
        ),
    },
    { weight: 3, arbitrary: hostileText.map(percentEncode) },
    {
      // Node refuses request heads over 16 KiB (431) before the service sees them: kept below.
      weight: 1,
      arbitrary: longText(1_200).map(({ value: v }) => percentEncode(v)),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...TRAVERSAL.filter((t) => /^[\x21-\x7e]*$/.test(t) && t !== '')),
    },
  );
  if (!secret) return value;
  // The log check records a link token's path segment as sent (still encoded): keep it unique.
  return fc
    .tuple(prefix, value)
    .map(([p, v]) => (v.length >= 8 && !known.includes(v) ? `${p}${v}` : v));
}

/** A query string: each declared key absent, good, hostile, repeated or bracketed, plus extras. */
function queryString(names: string[], known: Record<string, string[]>): fc.Arbitrary<string> {
  const value = (name: string) => {
    const secret = SECRET_NAME.test(name);
    return fc.oneof(
      {
        weight: 3,
        arbitrary: known[name]?.length
          ? fc.constantFrom(...known[name])
          : unrecorded(hostileText, secret),
      },
      { weight: 3, arbitrary: unrecorded(hostileText, secret) },
      {
        weight: 1,
        arbitrary: unrecorded(
          longText(1_000).map(({ value: v }) => v),
          secret,
        ),
      },
    );
  };
  const one = (name: string): fc.Arbitrary<[string, string][]> =>
    fc.oneof(
      fc.constant<[string, string][]>([]),
      value(name).map((v): [string, string][] => [[name, v]]),
      fc.tuple(value(name), value(name)).map(([a, b]): [string, string][] => [
        [name, a],
        [name, b],
      ]),
      value(name).map((v): [string, string][] => [[`${name}[x]`, v]]),
    );
  return fc
    .tuple(
      fc.tuple(...names.map(one)),
      fc.array(fc.tuple(anyKey, hostileText), { maxLength: 2 }),
      fc.constantFrom('', '', '&', '&&=', '&%zz', '&%E0%A4%A'),
    )
    .map(([declared, extra, tail]) => {
      const pairs = [...declared.flat(), ...extra].map(
        ([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`,
      );
      // Below Node's 16 KiB request-head limit (that 431 has its own test).
      let text = '';
      for (const pair of pairs)
        if (text.length + pair.length < 9_000) text += `${text ? '&' : ''}${pair}`;
      text += tail;
      return text === '' ? '' : `?${text}`;
    });
}

const WRONG_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=zzz',
  'application/xml',
  'application/jsonx',
  'application/json-patch+json',
  'text/json',
  'application/vnd.api+json',
  'application/ json',
];

/** Everything about one request to `route`, with the reason it must be refused when there is one. */
export function requestFor(route: RouteFuzz): fc.Arbitrary<FuzzRequest> {
  const { handler, fields, page, caller, origin, known } = route;
  const isWrite = WRITE_METHODS.has(handler.method);
  const path = fc
    .tuple(...handler.params.map((name) => pathValue(known[name] ?? [], SECRET_NAME.test(name))))
    .map((values) => {
      let result = handler.path;
      handler.params.forEach((name, i) => {
        result = result.replace(`:${name}`, values[i]);
      });
      return result;
    });
  const query = queryString([...handler.query, ...route.rawQuery], known);
  const noBody = fc.oneof(
    fc.constant<Body | null>(null),
    anyJson.map((node): Body => ({
      text: jsonText(node),
      refused: null,
      sentKeys: [],
      shape: 'ignored body',
    })),
  );
  const body: fc.Arbitrary<Body | null> = !isWrite
    ? fc.constant(null)
    : !handler.body
      ? noBody
      : page
        ? fc.oneof(
            { weight: 3, arbitrary: formBody(fields, known) },
            { weight: 1, arbitrary: jsonBody(fields, known) },
          )
        : jsonBody(fields, known);
  const contentType = fc.oneof(
    { weight: 10, arbitrary: fc.constant<string | null>(null) },
    { weight: 1, arbitrary: fc.constant<string | null>('application/json; charset=utf-8') },
    { weight: 2, arbitrary: fc.constantFrom<string | null>(...WRONG_TYPES) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<string | null>(
        'application/json; charset=utf-16',
        'application/json; charset=koi8-r',
        'application/json; charset=bogus',
        'APPLICATION/JSON',
      ),
    },
  );
  const origins = fc.oneof(
    { weight: 8, arbitrary: fc.constant<string | null>(origin) },
    { weight: 1, arbitrary: fc.constant<string | null>(null) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<string | null>(
        'https://evil.example',
        'null',
        `${origin}.evil.example`,
        'http://127.0.0.1',
      ),
    },
  );
  type Noise = { authorization?: string; cookie?: string };
  const noise: fc.Arbitrary<Noise> = fc.oneof(
    { weight: 12, arbitrary: fc.constant<Noise>({}) },
    {
      weight: 1,
      arbitrary: uniqueNoise.map((value) => ({ authorization: `Bearer ${value.slice(0, 4000)}` })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(uniqueNoise, uniqueNoise, uniqueNoise).map(([a, b, c]) => ({
        cookie: `il_session=${a}; il_csrf=${b}; il_gosuslugi_tx=${c}`,
      })),
    },
  );
  const accept = fc.constantFrom('application/json', 'text/html', '*/*', '');
  return fc
    .record({
      path,
      query,
      body,
      contentType,
      origin: origins,
      noise,
      accept,
      fetchSite: fc.constantFrom(
        'same-origin',
        'same-origin',
        'same-origin',
        'none',
        'cross-site',
        '',
      ),
    })
    .map((choice): FuzzRequest => {
      const headers: Record<string, string> = {};
      if (caller.cookie) headers.cookie = caller.cookie;
      Object.assign(headers, choice.noise);
      if (choice.accept) headers.accept = choice.accept;
      if (choice.origin && isWrite) headers.origin = choice.origin;
      if (choice.fetchSite) headers['sec-fetch-site'] = choice.fetchSite;
      const reasons: (string | null)[] = [];
      let sentKeys: string[] = [];
      let shape = 'no body';
      let bodyText: string | undefined;
      if (choice.body) {
        bodyText = choice.body.text;
        // Sent under another content type, a body is parsed differently: its keys may be any.
        sentKeys = [...choice.body.sentKeys, ...formKeys(choice.body.text)];
        shape = choice.body.shape;
        const form = choice.body.shape === 'form';
        const type =
          choice.contentType ?? (form ? 'application/x-www-form-urlencoded' : 'application/json');
        headers['content-type'] = type;
        const json = /^application\/json\s*(;|$)/i.test(type);
        if (handler.path.startsWith('/api/') && !json)
          reasons.push(`content type ${type} on the JSON API`);
        // The body is read as UTF-8 only: one that names another charset is refused (415).
        else if (json && /;\s*charset=(?!utf-8$)/i.test(type)) reasons.push(`a body in ${type}`);
        else if (
          choice.contentType === null ||
          (!form && choice.contentType === 'application/json; charset=utf-8')
        )
          reasons.push(choice.body.refused);
        // Otherwise the body is parsed as something other than what it was built as: no verdict.
        else shape += ` sent as ${type}`;
      }
      // Cookie-authenticated writes and every page form must come from our own origin.
      const sessionProof = caller.signedIn && !choice.noise.authorization && !choice.noise.cookie;
      const foreign =
        (choice.origin !== null && choice.origin !== origin) || choice.fetchSite === 'cross-site';
      if (isWrite && foreign && (page || (sessionProof && handler.path.startsWith('/api/'))))
        reasons.push('request from another origin');
      return {
        method: handler.method,
        url: `${choice.path}${choice.query}`,
        headers,
        body: bodyText,
        refused: reasons.find((r) => r) ?? null,
        sentKeys,
        shape,
      };
    });
}
