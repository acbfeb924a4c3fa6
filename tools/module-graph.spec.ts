import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ARCHITECTURE_DOC,
  cycles,
  folderEdges,
  layerViolations,
  generatedDocument,
  ROOT_DIR,
  SRC_DIR,
} from './module-graph.js';

/**
 * Imports against the layer order that the code still makes, each to be removed by moving the code
 * it needs (docs/architecture.md, «Known imports against the order»). The list may only shrink:
 * a new import against the order fails the test, and so does removing one without removing it here.
 */
const KNOWN_AGAINST_ORDER: string[] = [];

/**
 * The only modules that may be @Global(), each with why: configuration, or a binding that a
 * module below cannot reach through its imports. A global module hides which features use it, so
 * a new one fails here until it is argued for.
 */
const ALLOWED_GLOBAL: Readonly<Record<string, string>> = {
  'src/config/config.module.ts': 'the validated configuration (AppConfig), read by every feature',
  'src/cli/cli.module.ts': "the command line's configuration, as AppConfigModule gives the service",
  'src/mail/mail.module.ts': 'one outbox per process, configured once by the composition root',
  'src/pos/pos.module.ts':
    'PosPortsModule: the ports of sessions, accounts and gosuslugi that ПОС implements; those ' +
    'folders must not import ПОС, and Nest shows a provider only through imports or a global module',
};

/** The files (paths from the repository root) that declare a @Global() module. */
function globalModules(files: ReadonlyMap<string, string>): string[] {
  return [...files]
    .filter(([, text]) => /^@Global\(\)/m.test(text))
    .map(([file]) => file)
    .sort();
}

function sourcesOf(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const file = path.join(entry.parentPath, entry.name);
    files.set(path.relative(ROOT_DIR, file).split(path.sep).join('/'), readFileSync(file, 'utf8'));
  }
  return files;
}

describe('the folder graph of src/', () => {
  it('finds a cycle between folders, and none in a graph that follows the order', () => {
    expect(
      cycles([
        { from: 'pos', to: 'gosuslugi' },
        { from: 'gosuslugi', to: 'sessions' },
        { from: 'gosuslugi', to: 'pos' },
      ]),
    ).toEqual([['gosuslugi', 'pos']]);
    expect(
      cycles([
        { from: 'pos', to: 'gosuslugi' },
        { from: 'gosuslugi', to: 'sessions' },
        { from: 'pos', to: 'sessions' },
      ]),
    ).toEqual([]);
  });

  it('names an import against the layer order, and a folder that has no rank', () => {
    expect(
      layerViolations([
        { from: 'web', to: 'pos' },
        { from: 'pos', to: 'web' },
        { from: 'mail', to: 'audit' },
        { from: 'billing', to: 'common' },
      ]),
    ).toEqual(['pos -> web', 'billing -> common']);
  });

  it('makes no import against the layer order beyond the known ones, which may only shrink', () => {
    expect(layerViolations(folderEdges(SRC_DIR))).toEqual(KNOWN_AGAINST_ORDER);
  });

  it('counts every import that closes a cycle as against the order', () => {
    const closing = [
      { from: 'pos', to: 'gosuslugi' },
      { from: 'gosuslugi', to: 'pos' },
    ];
    expect(cycles(closing)).toEqual([['gosuslugi', 'pos']]);
    expect(layerViolations(closing)).toEqual(['gosuslugi -> pos']);
  });

  it('fails when a port is bypassed: the owner of a port importing its implementation', () => {
    const edges = folderEdges(SRC_DIR);
    for (const back of ['gosuslugi -> pos', 'mail -> pos']) {
      const [from, to] = back.split(' -> ');
      const violations = layerViolations([...edges, { from, to }]);
      expect(violations).not.toEqual(KNOWN_AGAINST_ORDER);
      expect(violations).toContain(back);
    }
  });

  it('has no @Global() module beyond the allowed ones, each with its reason', () => {
    expect(globalModules(sourcesOf(SRC_DIR))).toEqual(Object.keys(ALLOWED_GLOBAL).sort());
    for (const reason of Object.values(ALLOWED_GLOBAL)) expect(reason.length).toBeGreaterThan(20);
  });

  it('notices a new @Global() module', () => {
    const files = new Map([
      ['src/a/a.module.ts', '@Global()\n@Module({})\nexport class A {}'],
      ['src/b/b.module.ts', '// @Global() is not used here\n@Module({})\nexport class B {}'],
    ]);
    expect(globalModules(files)).toEqual(['src/a/a.module.ts']);
  });

  it('docs/architecture.md shows the graph and the auth core the code has (regenerate with --write)', async () => {
    const document = readFileSync(ARCHITECTURE_DOC, 'utf8');
    expect(await generatedDocument(document, ROOT_DIR)).toBe(document);
  });
});
