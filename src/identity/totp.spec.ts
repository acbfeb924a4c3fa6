import { describe, expect, it } from '@jest/globals';
import {
  isRecoveryCodeShape,
  newRecoveryCode,
  newTotpSecret,
  normalizeCode,
  recoveryCodeHash,
  sameDigest,
  totpCodeAt,
  totpMatchingStep,
  totpStepAt,
  totpUri,
} from './totp.js';

describe('totp', () => {
  // RFC 6238 appendix B, SHA-1: secret "12345678901234567890", T = 59 s → 94287082 (8 digits).
  it('matches the RFC 6238 test vector (last 6 digits)', () => {
    const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
    expect(totpCodeAt(secret, 59_000)).toBe('287082');
    expect(totpCodeAt(secret, 1_111_111_109_000)).toBe('081804');
  });

  it('accepts a code one step either side and says which step it was', () => {
    const secret = newTotpSecret();
    const now = 1_800_000_000_000;
    const step = totpStepAt(now);
    expect(totpMatchingStep(secret, totpCodeAt(secret, now), now)).toBe(step);
    expect(totpMatchingStep(secret, totpCodeAt(secret, now - 30_000), now)).toBe(step - 1);
    expect(totpMatchingStep(secret, totpCodeAt(secret, now + 30_000), now)).toBe(step + 1);
    expect(totpMatchingStep(secret, totpCodeAt(secret, now - 90_000), now)).toBeNull();
    expect(totpMatchingStep(secret, 'abcdef', now)).toBeNull();
  });

  it('makes an otpauth URI for the app', () => {
    const uri = totpUri('JBSWY3DPEHPK3PXP', 'ivanov');
    expect(uri).toMatch(/^otpauth:\/\/totp\//);
    expect(uri).toContain('secret=JBSWY3DPEHPK3PXP');
    expect(uri).toContain('digits=6');
    expect(uri).toContain('period=30');
  });

  it('makes recovery codes of 60 bits and compares their digests', () => {
    const code = newRecoveryCode();
    expect(code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    expect(isRecoveryCodeShape(normalizeCode(code.toLowerCase()))).toBe(true);
    expect(sameDigest(recoveryCodeHash(code), recoveryCodeHash(code.toLowerCase()))).toBe(true);
    expect(sameDigest(recoveryCodeHash(code), recoveryCodeHash(newRecoveryCode()))).toBe(false);
  });
});
