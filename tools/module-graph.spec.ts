import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
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
const KNOWN_AGAINST_ORDER = ['gosuslugi -> pos', 'mail -> pos'];

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

  it('docs/architecture.md shows the graph and the auth core the code has (regenerate with --write)', async () => {
    const document = readFileSync(ARCHITECTURE_DOC, 'utf8');
    expect(await generatedDocument(document, ROOT_DIR)).toBe(document);
  });
});
