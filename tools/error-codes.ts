/**
 * README.md's «Error codes» table, generated from `ERROR_CODES` (src/common/error-codes.ts), and
 * the error codes src/ throws, read from its `new DomainError(HttpStatus.X, 'code', …)` sites.
 *
 *   npx tsx tools/error-codes.ts          prints the table
 *   npx tsx tools/error-codes.ts --write  rewrites the table in README.md
 *
 * tools/error-codes.spec.ts holds README.md and the code to the table.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpStatus } from '@nestjs/common';
import { format, resolveConfig } from 'prettier';
import { ERROR_CODES } from '../src/common/error-codes.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT_DIR = root;
export const SRC_DIR = path.join(root, 'src');
export const README = path.join(root, 'README.md');
const BEGIN = '<!-- error-codes:begin (npx tsx tools/error-codes.ts --write) -->';
const END = '<!-- error-codes:end -->';

/** The table as Markdown: code, status (number and name), when a client gets it. */
export function errorCodesTable(): string {
  const rows = Object.entries(ERROR_CODES).map(
    ([code, [status, when]]) => `| \`${code}\` | ${status} ${HttpStatus[status]} | ${when} |`,
  );
  return ['| code | status | when |', '| --- | --- | --- |', ...rows].join('\n');
}

/** README.md with its error-codes block as the table has it now, as Prettier lays it out. */
export async function generatedReadme(document: string): Promise<string> {
  const start = document.indexOf(BEGIN);
  const stop = document.indexOf(END);
  if (start < 0 || stop < start) throw new Error('README.md has no error-codes block');
  const text = `${document.slice(0, start + BEGIN.length)}\n\n${errorCodesTable()}\n\n${document.slice(stop)}`;
  const options = await resolveConfig(README);
  return format(text, { ...options, filepath: README });
}

/** The non-spec TypeScript files of a folder, recursively. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts'))
    .map((e) => path.join(e.parentPath, e.name));
}

export interface ThrowSite {
  file: string;
  status: string;
  code: string;
}

/**
 * Every `new DomainError(HttpStatus.X, 'code'` of the sources; `unreadable` lists the sites whose
 * status or code is not written out, which this reading (and so the spec) cannot check.
 */
export function throwSites(files: readonly string[]): { sites: ThrowSite[]; unreadable: string[] } {
  const sites: ThrowSite[] = [];
  const unreadable: string[] = [];
  const site = /new DomainError\(\s*(?:HttpStatus\.([A-Z_]+)\s*,\s*'([a-z0-9_]+)'\s*,)?/g;
  for (const file of files) {
    const source = readFileSync(file, 'utf8');
    const relative = path.relative(root, file);
    for (let match = site.exec(source); match; match = site.exec(source)) {
      if (match[1] === undefined) unreadable.push(relative);
      else sites.push({ file: relative, status: match[1], code: match[2] });
    }
  }
  return { sites, unreadable };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--write')) {
    writeFileSync(README, await generatedReadme(readFileSync(README, 'utf8')));
  } else {
    console.log(errorCodesTable());
  }
}
