import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fastify, { type FastifyInstance } from 'fastify';
import { BODY_LIMIT_BYTES, registerBodyParsers } from './body-parsers.js';
import { MAX_JSON_DEPTH } from './json-depth.js';

describe('registerBodyParsers', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = fastify({ bodyLimit: BODY_LIMIT_BYTES });
    registerBodyParsers(app);
    app.setErrorHandler(
      (error: Error & { statusCode?: number; status?: number; code?: string }, _request, reply) =>
        reply.status(error.status ?? error.statusCode ?? 500).send({ code: error.code }),
    );
    app.all('/', (request, reply) => reply.send({ body: request.body ?? 'unread' }));
    await app.ready();
  });
  afterAll(() => app.close());

  const post = (type: string, payload: string) =>
    app.inject({ method: 'POST', url: '/', headers: { 'content-type': type }, payload });

  it('parses JSON objects and lists; an empty JSON body is {}', async () => {
    expect((await post('application/json', '{"a":1}')).json()).toEqual({ body: { a: 1 } });
    expect((await post('application/json; charset=utf-8', ' [1]')).json()).toEqual({ body: [1] });
    expect((await post('application/json', '')).json()).toEqual({ body: {} });
  });

  it('refuses a scalar, broken JSON and JSON nested too deep, each with its code', async () => {
    for (const text of ['"text"', '1', 'null', '{"a":', "{'a':1}"]) {
      const response = await post('application/json', text);
      expect([response.statusCode, response.json()]).toEqual([400, { code: 'malformed_json' }]);
    }
    const deep = '['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1);
    const response = await post('application/json', deep);
    expect([response.statusCode, response.json()]).toEqual([400, { code: 'json_too_deep' }]);
    const atLimit = '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH);
    expect((await post('application/json', atLimit)).statusCode).toBe(200);
  });

  it('parses forms flat, a repeated field a list, and refuses one with too many fields', async () => {
    const form = await post('application/x-www-form-urlencoded', 'b=2&c=%D0%B0&c=x&d[e]=1');
    expect(form.json()).toEqual({ body: { b: '2', c: ['а', 'x'], 'd[e]': '1' } });
    const many = await post('application/x-www-form-urlencoded', 'a=1&'.repeat(1001));
    expect([many.statusCode, many.json()]).toEqual([413, { code: 'payload_too_large' }]);
  });

  it('refuses a JSON or form body in a charset other than UTF-8 (415), not garble it', async () => {
    // «Иван» in windows-1251: read as UTF-8 it would become four replacement characters.
    const cp1251 = Buffer.from([0xc8, 0xe2, 0xe0, 0xed]).toString('latin1');
    for (const [type, text] of [
      ['application/json; charset=windows-1251', `{"name":"${cp1251}"}`],
      ['application/json; charset="ISO-8859-1"', '{"a":1}'],
      ['application/x-www-form-urlencoded; charset=koi8-r', `name=${cp1251}`],
    ]) {
      const response = await post(type, text);
      expect([type, response.statusCode, response.json()]).toEqual([
        type,
        415,
        { code: 'unsupported_charset' },
      ]);
    }
    for (const type of [
      'application/json; charset=UTF-8',
      'application/json; charset="utf-8"',
      'application/x-www-form-urlencoded; charset=utf-8',
    ])
      expect([type, (await post(type, type.includes('json') ? '{}' : 'a=1')).statusCode]).toEqual([
        type,
        200,
      ]);
  });

  it('refuses a JSON or form body over the limit (413) before parsing it', async () => {
    const big = `{"a":"${'x'.repeat(BODY_LIMIT_BYTES)}"}`;
    expect((await post('application/json', big)).statusCode).toBe(413);
    expect(
      (await post('application/x-www-form-urlencoded', `a=${'x'.repeat(BODY_LIMIT_BYTES)}`))
        .statusCode,
    ).toBe(413);
  });

  it('leaves any other body unread, however large, for the route to refuse or read', async () => {
    const csv = await post('text/csv', 'x'.repeat(BODY_LIMIT_BYTES * 2));
    expect([csv.statusCode, csv.json()]).toEqual([200, { body: 'unread' }]);
    expect((await post('text/plain', 'hello')).json()).toEqual({ body: 'unread' });
  });

  it('reads nothing of a request without a body', async () => {
    expect((await app.inject({ method: 'GET', url: '/' })).json()).toEqual({ body: 'unread' });
  });
});
