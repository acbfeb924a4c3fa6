import { describe, expect, it } from '@jest/globals';
import { amrOf, secondFactorStep } from './second-factor-rules.js';

describe('second-factor rules', () => {
  const off = { requiredForAdmins: false };
  const on = { requiredForAdmins: true };
  const account = { enrolled: false, operator: false, administrator: false };

  it('asks an enrolled account for its code, whoever it is', () => {
    expect(secondFactorStep({ ...account, enrolled: true }, off)).toBe('verify');
    expect(secondFactorStep({ ...account, enrolled: true, operator: true }, off)).toBe('verify');
  });

  it('sends an operator without a factor to enrol, always', () => {
    expect(secondFactorStep({ ...account, operator: true }, off)).toBe('enrol');
  });

  it('sends an administrator to enrol only when MFA_REQUIRED_FOR_ADMINS is on', () => {
    expect(secondFactorStep({ ...account, administrator: true }, off)).toBeNull();
    expect(secondFactorStep({ ...account, administrator: true }, on)).toBe('enrol');
    expect(secondFactorStep(account, on)).toBeNull();
  });

  it('puts otp beside the method in amr', () => {
    expect(amrOf({ method: 'pwd', secondFactor: 'otp' })).toEqual(['pwd', 'otp']);
    expect(amrOf({ method: 'gosuslugi', secondFactor: null })).toEqual(['gosuslugi']);
  });
});
