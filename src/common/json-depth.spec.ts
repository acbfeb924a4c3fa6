import { describe, expect, it } from '@jest/globals';
import { jsonDepth, MAX_JSON_DEPTH } from './json-depth.js';

describe('jsonDepth', () => {
  it('counts objects and lists, not scalars', () => {
    expect(jsonDepth('text')).toBe(0);
    expect(jsonDepth(null)).toBe(0);
    expect(jsonDepth({})).toBe(1);
    expect(jsonDepth({ roles: ['admin'] })).toBe(2);
    expect(jsonDepth([[{ a: [1] }]])).toBe(4);
  });

  it('follows an own `__proto__` key like any other', () => {
    expect(jsonDepth(JSON.parse('{"__proto__":{"a":{"b":1}}}'))).toBe(3);
  });

  it('walks 100 000 levels without overflowing the stack, and stops past the limit', () => {
    const deep: unknown = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000));
    expect(jsonDepth(deep)).toBe(100_000);
    expect(jsonDepth(deep, MAX_JSON_DEPTH)).toBe(MAX_JSON_DEPTH + 1);
  });
});
