import { describe, expect, it } from '@jest/globals';
import gost from '@wavesenterprise/crypto-gost-js';
import { generateGostKeyPair, gostSign, gostVerify, reverseBytes, streebog256 } from './gost.js';

describe('GOST primitives', () => {
  it('hashes with Streebog-256 as the standard says (empty message and "012…890" ×…)', () => {
    expect(streebog256(Buffer.alloc(0)).toString('hex')).toBe(
      '3f539a213e97c802cc229d474c6aa32a825a360b2a933a949fd925208d9ce1bb',
    );
    // GOST R 34.11-2012, example 1 (the 63-byte message), as OpenSSL prints it.
    const message = Buffer.from(
      '012345678901234567890123456789012345678901234567890123456789012',
      'ascii',
    );
    expect(streebog256(message).toString('hex')).toBe(
      '9d151eefd8590b89daa6ba6cb74af9275dd051026bb149a452fd84e5e57b5500',
    );
  });

  it('signs and verifies; a changed message or signature fails', () => {
    const { privateKey, publicKey } = generateGostKeyPair();
    const data = Buffer.from('client_id+scope+timestamp+state+redirect_uri');
    const signature = gostSign(privateKey, data);
    expect(signature).toHaveLength(64);
    expect(gostVerify(publicKey, data, signature)).toBe(true);
    expect(gostVerify(publicKey, Buffer.from('other'), signature)).toBe(false);
    const flipped = Buffer.from(signature);
    flipped[10] ^= 1;
    expect(gostVerify(publicKey, data, flipped)).toBe(false);
    expect(gostVerify(publicKey, data, Buffer.from(signature).reverse())).toBe(false);
    expect(gostVerify(Buffer.alloc(64), data, Buffer.alloc(64))).toBe(false);
  });

  it('shows the library works in little-endian (CryptoPro) order: reversed, its output is the standard s || r', () => {
    // Appendix A.1 of GOST R 34.10-2012: test curve, fixed k, the digest e given directly.
    const le = (hex: string) => Buffer.from(hex, 'hex').reverse();
    const cipher = gost.GostEngine.getGostSign({
      name: 'GOST R 34.10',
      namedCurve: 'S-256-TEST',
      ukm: le('77105C9B20BCD3122823C8CF6FCC7B956DE33814E95B7FE64FED924594DCEAB3'),
    } as never);
    const d = le('7A929ADE789BB9BE10ED359DD39A72C11B60961F49397EEE1D19CE9891EC3B28');
    const e = le('2DFBC1B372D89A1188C09C52E0EEC61FCE52032AB1022E8E67ECE6672B043EE5');
    const native = Buffer.from(new Uint8Array(cipher.sign(d, e)));
    const s = '01456C64BA4642A1653C235A98A60249BCD6D3F746B631DF928014F6C5BF9C40';
    const r = '41AA28D2F1AB148280CD9ED56FEDA41974053554A42767B83AD043FD39DC0493';
    expect(reverseBytes(native).toString('hex').toUpperCase()).toBe(s + r);
  });
});
