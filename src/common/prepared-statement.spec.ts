import { describe, expect, it } from '@jest/globals';
import { numberedPlaceholders } from './prepared-statement.js';

describe('numberedPlaceholders', () => {
  it('numbers each ? in order, as PostgreSQL binds parameters', () => {
    expect(numberedPlaceholders('select ? where a = ? and b in (?, ?::uuid)')).toBe(
      'select $1 where a = $2 and b in ($3, $4::uuid)',
    );
  });

  it('leaves a statement without placeholders as it is', () => {
    expect(numberedPlaceholders('select 1')).toBe('select 1');
  });
});
