import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { type ClientInfo } from '../common/client-info.js';
import { Errors } from '../common/errors.js';
import { User, UserStatus } from '../identity/user.entity.js';
import { type LoginChallenge } from './login-challenge.entity.js';
import { LoginChallenges } from './login-challenges.service.js';
import { type LoginResult } from './login-outcome.js';
import { LoginSessions } from './login-sessions.service.js';
import { MfaEnrolment, type TotpEnrolment } from './mfa-enrolment.service.js';
import { Passkeys } from './passkeys.service.js';
import { PasskeyErrors, SecondFactorErrors } from './second-factor.texts.js';
import { type ProvedFactor, SecondFactors } from './second-factors.service.js';
import { AuthMethod, type Session } from './session.entity.js';

export interface SecondFactorLoginResult extends LoginResult {
  /** What the code proved (`passkey`: an assertion); `enrolled` when this step enrolled the factor. */
  proved: ProvedFactor | 'passkey' | 'enrolled';
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
    private readonly em: EntityManager,
    private readonly loginSessions: LoginSessions,
    private readonly challenges: LoginChallenges,
    private readonly factors: SecondFactors,
    private readonly enrolment: MfaEnrolment,
    private readonly passkeys: Passkeys,
  ) {}

  /** Whether the account of a live step can answer it with a TOTP or recovery code. */
  async codeOffered(challenge: LoginChallenge): Promise<boolean> {
    return (
      challenge.purpose === 'enrol' || (await this.factors.enrolled(challenge.user.id)) !== null
    );
  }

  /** Whether the account of a live step can answer it with a passkey. */
  async passkeyOffered(challenge: LoginChallenge): Promise<boolean> {
    return challenge.purpose === 'verify' && (await this.passkeys.has(challenge.user.id));
  }

  /** Options for navigator.credentials.get(), with a challenge bound to this login step. */
  async passkeyOptions(token: string | undefined): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const challenge = await this.challenge(token);
    // A step that must enrol belongs to an account without any second factor: 409 passkey_not_enrolled.
    return this.passkeys.authenticationOptions(challenge.user, 'login', challenge.id);
  }

  /**
   * The step answered by a passkey: an assertion over a challenge issued for this very step
   * (passkeyOptions). A refused one counts as a wrong code on the step.
   */
  async completeWithPasskey(
    token: string | undefined,
    assertion: unknown,
    client: ClientInfo,
    previous: Session | null,
  ): Promise<SecondFactorLoginResult> {
    const challenge = await this.challenge(token);
    const proved =
      challenge.purpose === 'verify' &&
      (await this.passkeys.verify(challenge.user, 'login', challenge.id, assertion, client));
    if (!proved) {
      await this.challenges.wrongCode(challenge);
      throw PasskeyErrors.invalid();
    }
    const opened = await this.completeSecondFactor(challenge, client, previous, 'hwk');
    return { ...opened, proved: 'passkey', recoveryCodes: null };
  }

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
    const opened = await this.completeSecondFactor(challenge, client, previous);
    return { ...opened, proved, recoveryCodes };
  }

  /**
   * The session a password login waited for, once its second factor is proved (or enrolled): the
   * pending step ends in the same transaction (single use), and the session records the factor
   * for `amr`. A session the browser already had ends (fixation), as at a login.
   */
  private async completeSecondFactor(
    challenge: LoginChallenge,
    client: ClientInfo,
    previous: Session | null,
    factor: 'otp' | 'hwk' = 'otp',
  ): Promise<LoginResult> {
    const result = await this.em.transactional(async (em) => {
      if (!(await this.challenges.end(em, challenge))) return null;
      const user = await em.findOneOrFail(User, challenge.user.id, { refresh: true });
      if (user.status !== UserStatus.Active) return null;
      return this.loginSessions.open(em, {
        user,
        method: AuthMethod.Password,
        client,
        previous,
        secondFactor: factor,
      });
    });
    if (!result) throw Errors.unauthenticated();
    return result;
  }
}
