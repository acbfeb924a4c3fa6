import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { HttpStatus } from '@nestjs/common';
import { ERROR_CODES } from '../src/common/error-codes.js';
import {
  generatedReadme,
  README,
  ROOT_DIR,
  sourceFiles,
  SRC_DIR,
  throwSites,
} from './error-codes.js';

const TABLE_FILE = path.join(SRC_DIR, 'common', 'error-codes.ts');
const files = sourceFiles(SRC_DIR).filter((file) => file !== TABLE_FILE);
const listed = new Map<string, HttpStatus>(
  Object.entries(ERROR_CODES).map(([code, [status]]) => [code, status]),
);

/**
 * Error bodies written without a DomainError (the exception filter, the login's second step):
 * the `code` of an object literal that also has a `statusCode`, within the next three lines.
 */
function bodyCodes(source: string): string[] {
  const body = /statusCode:[^\n]*\n(?:[^\n]*\n){0,2}?\s*code:([^\n]*)/g;
  const codes: string[] = [];
  for (let match = body.exec(source); match; match = body.exec(source))
    for (const literal of match[1].matchAll(/'([a-z0-9_]+)'/g)) codes.push(literal[1]);
  return codes;
}

describe('the error codes of the API', () => {
  it('README.md lists them as ERROR_CODES has them (npx tsx tools/error-codes.ts --write)', async () => {
    const readme = readFileSync(README, 'utf8');
    expect(await generatedReadme(readme)).toBe(readme);
  });

  it('every DomainError of src/ names its status and code, a listed code at its listed status', () => {
    const { sites, unreadable } = throwSites(files);
    expect(unreadable).toEqual([]);
    expect(sites.length).toBeGreaterThan(50);
    const wrong = sites
      .filter(({ code, status }) => HttpStatus[listed.get(code) ?? -1] !== status)
      .map(({ file, code, status }) => `${file}: ${status} ${code}`);
    expect(wrong).toEqual([]);
  });

  it('every error body src/ writes without a DomainError has a listed code', () => {
    const found = files.flatMap((file) =>
      bodyCodes(readFileSync(file, 'utf8')).map((code) => ({ file, code })),
    );
    expect(found.map(({ code }) => code)).toEqual(
      expect.arrayContaining(['internal_error', 'database_unavailable', 'mfa_required']),
    );
    const unlisted = found
      .filter(({ code }) => !listed.has(code))
      .map(({ file, code }) => `${path.relative(ROOT_DIR, file)}: ${code}`);
    expect(unlisted).toEqual([]);
  });

  it('lists no code that src/ never uses', () => {
    const sources = files.map((file) => readFileSync(file, 'utf8')).join('\n');
    const unused = [...listed.keys()].filter((code) => !sources.includes(`'${code}'`));
    expect(unused).toEqual([]);
  });

  it('finds the code of an error body written out by hand', () => {
    expect(bodyCodes("{\n  statusCode: 503,\n  code: 'not_ready',\n}")).toEqual(['not_ready']);
  });
});
