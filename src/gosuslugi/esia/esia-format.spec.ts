import { describe, expect, it } from '@jest/globals';
import { clientSecretText, esiaTimestamp, parseEsiaTimestamp } from './esia-format.js';

describe('ЕСИА request formats', () => {
  it('writes the timestamp in Moscow time as yyyy.MM.dd HH:mm:ss +0300', () => {
    expect(esiaTimestamp(new Date('2026-11-24T21:05:09Z'))).toBe('2026.11.25 00:05:09 +0300');
    expect(esiaTimestamp(new Date('2026-01-02T03:04:05Z'))).toBe('2026.01.02 06:04:05 +0300');
  });

  it('reads a timestamp back, and refuses other formats', () => {
    expect(parseEsiaTimestamp('2026.11.25 00:05:09 +0300')).toEqual(
      new Date('2026-11-24T21:05:09Z'),
    );
    expect(parseEsiaTimestamp('2026-11-25 00:05:09 +0300')).toBeNull();
    expect(parseEsiaTimestamp('2026.11.25 00:05:09')).toBeNull();
  });

  it('concatenates the signed text in ЕСИА order, the code last', () => {
    const parts = {
      clientId: 'SYS',
      scope: 'openid fullname',
      timestamp: 'T',
      state: 'S',
      redirectUri: 'https://x/cb',
    };
    expect(clientSecretText(parts)).toBe('SYSopenid fullnameTShttps://x/cb');
    expect(clientSecretText({ ...parts, code: 'C' })).toBe('SYSopenid fullnameTShttps://x/cbC');
  });
});
