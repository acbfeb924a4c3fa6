/**
 * The platform operator the `bulk-invitation` and `report` scenarios of `npm run bench` act as:
 * those routes are the administration area's, which an ordinary account is refused. In production
 * an operator's password login opens no session until a second factor is enrolled, so the bench
 * does what the operator's browser and authenticator app do: `operator:create` (the command line
 * an operator is made with; it prints the generated password once), the password login through
 * the API (403 `mfa_enrolment_required`), the TOTP secret of the enrolment step, and the first
 * code computed from it with the project's TOTP (src/identity/totp.ts, otpauth) —
 * test/support/mfa.ts, as the integration specs enrol.
 */
import { Browser } from '../test/support/browser.js';
import { loginEnrolling, loginWithCode, type TotpApp } from '../test/support/mfa.js';

export interface OperatorCredentials {
  login: string;
  password: string;
}

/** The `--json` answer of `operator:create`: the generated password, shown this once. */
export function operatorCredentials(cliOutput: string, login: string): OperatorCredentials {
  const { password } = JSON.parse(cliOutput) as { password?: string };
  if (!password) throw new Error(`operator:create printed no password: ${cliOutput}`);
  return { login, password };
}

export class BenchOperator {
  private constructor(
    private readonly browser: Browser,
    private readonly credentials: OperatorCredentials,
    private readonly app: TotpApp,
  ) {}

  /** The first login: enrols TOTP, then holds the operator's session cookie. */
  static async signIn(base: string, credentials: OperatorCredentials): Promise<BenchOperator> {
    const browser = new Browser(base);
    const { app } = await loginEnrolling(browser, credentials);
    return new BenchOperator(browser, credentials, app);
  }

  /**
   * A fresh access token from the session (a token lives ACCESS_TOKEN_TTL, 15 minutes by default,
   * less than a full run). A session that ended meanwhile (idle for SESSION_IDLE_TTL while other
   * scenarios ran) is replaced by a login with the password and a new code, as the operator would.
   */
  async accessToken(): Promise<string> {
    let response = await this.browser.postJson('/api/v1/auth/token', {});
    if (response.status === 401) {
      await response.body?.cancel();
      response = await loginWithCode(this.browser, this.credentials, await this.app.code());
    }
    if (response.status !== 200)
      throw new Error(`operator access token: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { accessToken: string }).accessToken;
  }
}
