import { describe, expect, it } from '@jest/globals';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AppConfig } from '../config/app-config.js';
import { PersonalDataKey } from './personal-data-key.service.js';

async function key(personalDataKey?: Buffer, isProduction = false): Promise<PersonalDataKey> {
  const dataDir = await mkdtemp(join(tmpdir(), 'identity-link-pdk-'));
  const service = new PersonalDataKey({ dataDir, personalDataKey, isProduction } as AppConfig);
  await service.onModuleInit();
  return service;
}

describe('PersonalDataKey', () => {
  it('seals for one context: another context, another key or one changed byte opens nothing', async () => {
    const mine = await key(Buffer.alloc(32, 1));
    const sealed = mine.seal('refresh-token-value', 'issuer\nsubject-1');
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('refresh-token-value');
    expect(mine.open(sealed, 'issuer\nsubject-1')).toBe('refresh-token-value');
    expect(mine.open(sealed, 'issuer\nsubject-2')).toBeNull();
    expect((await key(Buffer.alloc(32, 2))).open(sealed, 'issuer\nsubject-1')).toBeNull();
    const raw = Buffer.from(sealed.slice(3), 'base64url');
    raw[20] ^= 1;
    expect(mine.open(`v1.${raw.toString('base64url')}`, 'issuer\nsubject-1')).toBeNull();
    expect(mine.open('garbage', 'issuer\nsubject-1')).toBeNull();
    // Sealing twice gives two different values (a fresh IV each time).
    expect(mine.seal('x', 'c')).not.toBe(mine.seal('x', 'c'));
  });

  it('digests a SNILS the same in any spelling, differently under another key, and refuses non-numbers', async () => {
    const a = await key(Buffer.alloc(32, 1));
    const b = await key(Buffer.alloc(32, 2));
    expect(a.snilsDigest('000-000-001 01')).toBe(a.snilsDigest('00000000101'));
    expect(a.snilsDigest('000-000-001 01')).not.toBe(b.snilsDigest('000-000-001 01'));
    expect(a.snilsDigest('000-000-001')).toBeNull();
    expect(a.snilsDigest('abc')).toBeNull();
  });

  it('generates nothing in production: without PERSONAL_DATA_KEY a use is refused', async () => {
    const production = await key(undefined, true);
    expect(() => production.snilsDigest('00000000101')).toThrow(/PERSONAL_DATA_KEY/);
    expect(() => production.seal('x', 'c')).toThrow(/PERSONAL_DATA_KEY/);
  });

  it('keeps a generated development key across restarts', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'identity-link-pdk-'));
    const first = new PersonalDataKey({ dataDir } as AppConfig);
    await first.onModuleInit();
    const second = new PersonalDataKey({ dataDir } as AppConfig);
    await second.onModuleInit();
    expect(second.snilsDigest('00000000101')).toBe(first.snilsDigest('00000000101'));
    expect(second.open(first.seal('x', 'c'), 'c')).toBe('x');
  });
});
