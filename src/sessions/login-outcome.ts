import { type ChallengePurpose } from './login-challenge.entity.js';
import { type Session } from './session.entity.js';

export interface LoginResult {
  session: Session;
  /** The cookie value; shown once, stored only as a hash. */
  token: string;
  /** The access token's extra claims, when the login has already read them (`LoginQueries`). */
  claims?: Record<string, unknown>;
}

/** A right password that opens no session yet: a second factor is to be proved (or enrolled). */
export interface SecondFactorRequired {
  secondFactor: { purpose: ChallengePurpose; token: string; expiresAt: Date };
}

export type LoginOutcome = LoginResult | SecondFactorRequired;

export function needsSecondFactor(outcome: LoginOutcome): outcome is SecondFactorRequired {
  return 'secondFactor' in outcome;
}
