import { HttpStatus } from '@nestjs/common';
import { type FastifyInstance, type FastifyRequest } from 'fastify';
import { parse as parseQuery } from 'node:querystring';
import { DomainError } from './errors.js';
import { jsonDepth, MAX_JSON_DEPTH } from './json-depth.js';

/** What a JSON or form body may weigh (the import's file is read by its own guard, up to its own limit). */
export const BODY_LIMIT_BYTES = 64 * 1024;

/** As many fields as a form may carry (body-parser's `parameterLimit`, what the service had). */
const MAX_FORM_FIELDS = 1000;

const malformedJson = () =>
  new DomainError(HttpStatus.BAD_REQUEST, 'malformed_json', 'Некорректный JSON');

/**
 * The JSON the API takes: an object or a list (RFC 8259 allows a bare scalar; no endpoint takes
 * one, and body-parser's strict mode refused it too), and an empty body is `{}` (a POST that
 * only names an action). A body that nests deeper than any DTO is refused here (400
 * `json_too_deep`): the validation pipe's recursive copy of one 30 000 levels deep would overflow
 * the stack.
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return {};
  const first = /^[\t\n\r ]*(.)/.exec(text)?.[1];
  if (first !== '{' && first !== '[') throw malformedJson();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw malformedJson();
  }
  if (jsonDepth(parsed, MAX_JSON_DEPTH) > MAX_JSON_DEPTH)
    throw new DomainError(
      HttpStatus.BAD_REQUEST,
      'json_too_deep',
      `Слишком глубокая вложенность JSON (не более ${MAX_JSON_DEPTH} уровней)`,
    );
  return parsed;
}

/** A form post (`application/x-www-form-urlencoded`): flat fields, a repeated name a list. */
export function parseFormBody(text: string): Record<string, unknown> {
  if (text.split('&').length > MAX_FORM_FIELDS)
    throw new DomainError(
      HttpStatus.PAYLOAD_TOO_LARGE,
      'payload_too_large',
      'Слишком много полей формы',
    );
  return { ...parseQuery(text, '&', '=', { maxKeys: MAX_FORM_FIELDS }) };
}

/**
 * The bodies the service reads before its guards: JSON for the API, forms for the pages, each up
 * to BODY_LIMIT_BYTES. Any other type is left unread for the route to refuse (the API's guard
 * answers 415 `unsupported_media_type`) or to read itself after its access checks (the member
 * import's file and multipart form, pos/import/import-body.ts).
 */
export function registerBodyParsers(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers();
  const asText = { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES } as const;
  fastify.addContentTypeParser('application/json', asText, fromText(parseJsonBody));
  fastify.addContentTypeParser(
    'application/x-www-form-urlencoded',
    asText,
    fromText(parseFormBody),
  );
  fastify.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
}

/** The charset a Content-Type names (`charset=…`, quoted or not), lower-cased. */
function charsetOf(type: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(type ?? '');
  return match ? (match[1] ?? match[2]).toLowerCase() : undefined;
}

/**
 * Fastify's parser of a body read as text, from a function that parses the text or throws. The
 * text is read as UTF-8: a body that names another charset (a form of a windows-1251 page) is
 * refused (415 `unsupported_charset`) rather than stored garbled.
 */
function fromText(parse: (text: string) => unknown) {
  return (
    request: FastifyRequest,
    body: string | Buffer,
    done: (error: Error | null, parsed?: unknown) => void,
  ) => {
    try {
      const charset = charsetOf(request.headers['content-type']);
      if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')
        throw new DomainError(
          HttpStatus.UNSUPPORTED_MEDIA_TYPE,
          'unsupported_charset',
          'Тело запроса должно быть в кодировке UTF-8',
        );
      done(null, parse(String(body)));
    } catch (error) {
      done(error as Error);
    }
  };
}
