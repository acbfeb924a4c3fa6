import { totpCodeAt, totpStepAt, TOTP_PERIOD_SECONDS } from '../../src/identity/totp.js';
import { Browser } from './browser.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An authenticator app in a test: the secret the service showed, and the codes it shows. The
 * service accepts each 30-second step once, so every code is of a step newer than the last one
 * given (the current one, then the next, then it waits for the clock).
 */
export class TotpApp {
  private lastStep = Number.NEGATIVE_INFINITY;

  constructor(readonly secret: string) {}

  async code(): Promise<string> {
    let current = totpStepAt(Date.now());
    let step = Math.max(current, this.lastStep + 1);
    while (step > current + 1) {
      await sleep((current + 1) * TOTP_PERIOD_SECONDS * 1000 - Date.now() + 50);
      current = totpStepAt(Date.now());
      step = Math.max(current, this.lastStep + 1);
    }
    this.lastStep = step;
    return totpCodeAt(this.secret, step * TOTP_PERIOD_SECONDS * 1000 + 1);
  }

  /** A code of a step already used (what an attacker who saw it would send again). */
  usedCode(): string {
    return totpCodeAt(this.secret, this.lastStep * TOTP_PERIOD_SECONDS * 1000 + 1);
  }
}

/**
 * Enrols through the API a browser whose session is fresh: the secret, then the first code;
 * returns the app and the recovery codes.
 */
export async function enrolTotp(
  browser: Browser,
): Promise<{ app: TotpApp; recoveryCodes: string[] }> {
  const begun = await browser.postJson('/api/v1/me/mfa/totp', {});
  if (begun.status !== 200)
    throw new Error(`enrolment start: ${begun.status} ${await begun.text()}`);
  const app = new TotpApp(((await begun.json()) as { secret: string }).secret);
  const confirmed = await browser.postJson('/api/v1/me/mfa/totp/confirm', {
    code: await app.code(),
  });
  if (confirmed.status !== 200)
    throw new Error(`enrolment confirm: ${confirmed.status} ${await confirmed.text()}`);
  const { recoveryCodes } = (await confirmed.json()) as { recoveryCodes: string[] };
  return { app, recoveryCodes };
}

/**
 * A password login through the API that must enrol a second factor first (an operator): the
 * secret from the enrolment step, the first code; the browser then holds the session.
 */
export async function loginEnrolling(
  browser: Browser,
  credentials: { login: string; password: string },
): Promise<{ app: TotpApp; recoveryCodes: string[]; accessToken: string }> {
  const first = await browser.postJson('/api/v1/auth/login', {
    login: credentials.login,
    password: credentials.password,
  });
  const body = (await first.json()) as { code?: string; mfaToken?: string };
  if (first.status !== 403 || body.code !== 'mfa_enrolment_required' || !body.mfaToken)
    throw new Error(`expected mfa_enrolment_required, got ${first.status} ${JSON.stringify(body)}`);
  const enrolment = await browser.postJson('/api/v1/auth/login/mfa/enrolment', {
    mfaToken: body.mfaToken,
  });
  if (enrolment.status !== 200) throw new Error(`enrolment: ${enrolment.status}`);
  const app = new TotpApp(((await enrolment.json()) as { secret: string }).secret);
  const done = await browser.postJson('/api/v1/auth/login/mfa', {
    mfaToken: body.mfaToken,
    code: await app.code(),
  });
  if (done.status !== 200) throw new Error(`second step: ${done.status} ${await done.text()}`);
  const result = (await done.json()) as { recoveryCodes: string[]; accessToken: string };
  return { app, recoveryCodes: result.recoveryCodes, accessToken: result.accessToken };
}

/** A password login through the API of an account with a factor: password, then a code. */
export async function loginWithCode(
  browser: Browser,
  credentials: { login: string; password: string },
  code: string,
): Promise<Response> {
  const first = await browser.postJson('/api/v1/auth/login', {
    login: credentials.login,
    password: credentials.password,
  });
  const body = (await first.json()) as { code?: string; mfaToken?: string };
  if (first.status !== 401 || body.code !== 'mfa_required' || !body.mfaToken)
    throw new Error(`expected mfa_required, got ${first.status} ${JSON.stringify(body)}`);
  return browser.postJson('/api/v1/auth/login/mfa', { mfaToken: body.mfaToken, code });
}
