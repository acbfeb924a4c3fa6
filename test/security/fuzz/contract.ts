import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PASSWORD_RULES } from '../../../src/accounts/password-policy.js';

const SRC = fileURLToPath(new URL('../../../src', import.meta.url));

function sources(dir = SRC): { path: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    if (!entry.name.endsWith('.ts') || entry.name.endsWith('.spec.ts')) return [];
    return [{ path, text: readFileSync(path, 'utf8') }];
  });
}

const matches = (text: string, pattern: RegExp): string[] =>
  [...text.matchAll(pattern)].map((match) => match[1]);

/**
 * The top-level error codes the service can answer with, read from its source rather than listed
 * here: every `new DomainError(status, 'code', ...)` (and subclasses' `super(...)`), and the codes
 * the exception filter writes itself (its status table and the literals in `toBody`).
 */
export function knownErrorCodes(): Set<string> {
  const codes = new Set<string>();
  for (const { path, text } of sources()) {
    for (const code of matches(
      text,
      /(?:new DomainError|super)\(\s*(?:HttpStatus\.[A-Z_]+|\d{3}),\s*'([a-z_]+)'/g,
    ))
      codes.add(code);
    if (path.endsWith('http-exception.filter.ts')) {
      for (const code of matches(text, /code: '([a-z_]+)'/g)) codes.add(code);
      for (const code of matches(text, /\[\s*'([a-z_]+)',\s*'/g)) codes.add(code);
    }
  }
  return codes;
}

/**
 * Codes inside `errors`: the validation pipe's table, every `code: '...'` a DTO or service sets,
 * and the password policy's rule codes.
 */
export function knownFieldCodes(): Set<string> {
  const codes = new Set<string>(['invalid']);
  for (const { path, text } of sources()) {
    for (const code of matches(text, /code: '([a-z_]+)'/g)) codes.add(code);
    if (path.endsWith(join('common', 'validation.ts'))) {
      const table = /const CODES[^{]*\{([^}]*)\}/.exec(text)?.[1] ?? '';
      for (const code of matches(table, /:\s*'([a-z_]+)'/g)) codes.add(code);
    }
  }
  for (const rule of PASSWORD_RULES) codes.add(rule.code);
  return codes;
}

export interface Answer {
  status: number;
  contentType: string;
  text: string;
}

/** Statuses a server-rendered page may answer a refused or odd request with. */
export const PAGE_STATUSES = new Set([200, 303, 400, 401, 403, 404, 409, 410, 413, 415, 422, 429]);

/**
 * Problems with an answer under the error contract: `{statusCode, code, message, errors?}`, a code
 * from the service's own set, `errors` keyed by field (a DTO property or a key the request sent).
 * Returns [] when the answer keeps the contract.
 */
export function contractProblems(
  answer: Answer,
  options: {
    errorCodes: Set<string>;
    fieldCodes: Set<string>;
    /** The DTO's properties; null when the request reached another route (dot segments). */
    fields: string[] | null;
    sentKeys: string[];
    page: boolean;
  },
): string[] {
  const problems: string[] = [];
  if (answer.status >= 500) problems.push(`status ${answer.status} (5xx)`);
  const isJson = /^application\/json/i.test(answer.contentType);
  if (!isJson) {
    if (answer.status >= 400 && !options.page)
      problems.push(`error answer is not JSON (${answer.contentType || 'no type'})`);
    if (options.page && !PAGE_STATUSES.has(answer.status))
      problems.push(`page answered ${answer.status}`);
    return problems;
  }
  if (answer.status < 400) return problems;
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return [...problems, 'error body is not valid JSON'];
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return [...problems, 'error body is not an object'];
  const record = body as Record<string, unknown>;
  const extra = Object.keys(record).filter(
    (key) => !['statusCode', 'code', 'message', 'errors'].includes(key),
  );
  if (extra.length > 0) problems.push(`error body has extra keys ${JSON.stringify(extra)}`);
  if (record.statusCode !== answer.status)
    problems.push(`statusCode ${String(record.statusCode)} differs from status ${answer.status}`);
  if (typeof record.code !== 'string' || !options.errorCodes.has(record.code))
    problems.push(`code ${JSON.stringify(record.code)} is not one of the service's codes`);
  if (typeof record.message !== 'string' || record.message.length === 0)
    problems.push('message missing');
  if (answer.status === 429 && !/^(too_many_requests|[a-z_]+_limit)$/.test(String(record.code)))
    problems.push(`429 with code ${String(record.code)}`);
  if (answer.status === 422 && record.code === 'validation_failed' && record.errors === undefined)
    problems.push('422 validation_failed without errors');
  if (record.errors !== undefined) {
    const errors = record.errors;
    if (typeof errors !== 'object' || errors === null || Array.isArray(errors)) {
      problems.push('errors is not an object');
    } else {
      const allowed = options.fields && new Set([...options.fields, ...options.sentKeys]);
      for (const key of Object.keys(errors)) {
        // Nested errors are `field.child`; a sent key may itself hold dots; the urlencoded parser
        // may keep part of an odd key (`[a]` → `a`).
        if (
          allowed &&
          !allowed.has(key) &&
          !allowed.has(key.split('.')[0]) &&
          !options.sentKeys.some((sent) => sent.includes(key))
        )
          problems.push(`errors keyed by ${JSON.stringify(key)}, not a field`);
        const list = (errors as Record<string, unknown>)[key];
        if (!Array.isArray(list) || list.length === 0) {
          problems.push(`errors.${key} is not a non-empty list`);
          continue;
        }
        for (const item of list as unknown[]) {
          const { code, message } = (item ?? {}) as { code?: unknown; message?: unknown };
          if (typeof code !== 'string' || !options.fieldCodes.has(code))
            problems.push(`errors.${key} has code ${JSON.stringify(code)}, not a known field code`);
          if (typeof message !== 'string' || message.length === 0)
            problems.push(`errors.${key} has no message`);
        }
      }
    }
  }
  return problems;
}
