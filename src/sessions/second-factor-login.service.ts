import { Injectable } from '@nestjs/common';
import { type ClientInfo } from '../common/client-info.js';
import { AuthService, type LoginResult } from './auth.service.js';
import { type LoginChallenge } from './login-challenge.entity.js';
import { LoginChallenges } from './login-challenges.service.js';
import { MfaEnrolment, type TotpEnrolment } from './mfa-enrolment.service.js';
import { SecondFactorErrors } from './second-factor.texts.js';
import { type ProvedFactor, SecondFactors } from './second-factors.service.js';
import { type Session } from './session.entity.js';

export interface SecondFactorLoginResult extends LoginResult {
  /** What the code proved; `enrolled` when this step enrolled the factor. */
  proved: ProvedFactor | 'enrolled';
  /** After an enrolment: the ten recovery codes, shown once. */
  recoveryCodes: string[] | null;
}

/**
 * The second step of a password login (a LoginChallenge): a code of the enrolled factor, or for
 * an account that must enrol first, the new factor's secret and then its first code. Either way
 * a session opens only after a right code, and the step is used up with it.
 */
@Injectable()
export class SecondFactorLogin {
  constructor(
    private readonly auth: AuthService,
    private readonly challenges: LoginChallenges,
    private readonly factors: SecondFactors,
    private readonly enrolment: MfaEnrolment,
  ) {}

  /** The live pending step of a token, or 401 `mfa_challenge_invalid`. */
  async challenge(token: string | undefined): Promise<LoginChallenge> {
    const challenge = await this.challenges.find(token);
    if (!challenge) throw SecondFactorErrors.challengeInvalid();
    return challenge;
  }

  /** For a step that must enrol: the secret to put into the app (the same on every call). */
  async enrolmentOf(token: string | undefined): Promise<TotpEnrolment> {
    const challenge = await this.challenge(token);
    if (challenge.purpose !== 'enrol') throw SecondFactorErrors.wrongPurpose();
    return this.enrolment.begin(challenge.user);
  }

  async complete(
    token: string | undefined,
    code: string,
    client: ClientInfo,
    previous: Session | null,
  ): Promise<SecondFactorLoginResult> {
    const challenge = await this.challenge(token);
    const user = challenge.user;
    let proved: ProvedFactor | 'enrolled' | null;
    let recoveryCodes: string[] | null = null;
    if (challenge.purpose === 'verify') {
      proved = await this.factors.verify(user, code, client);
    } else {
      recoveryCodes = await this.enrolment.confirm(user, code, client);
      proved = recoveryCodes ? 'enrolled' : null;
    }
    if (!proved) {
      await this.challenges.wrongCode(challenge);
      throw SecondFactorErrors.invalidCode();
    }
    const opened = await this.auth.completeSecondFactor(challenge, client, previous);
    return { ...opened, proved, recoveryCodes };
  }
}
