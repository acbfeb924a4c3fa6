import { Transform } from 'class-transformer';
import { IsString, Length } from 'class-validator';
import { trimmed } from '../accounts/dto/fields.js';
import { NoControlCharacters } from '../common/validation.js';
import { UserStatus } from '../identity/user.entity.js';
import { BackchannelLogout } from '../provider/backchannel-logout.js';
import { AccountStatus } from '../sessions/account-status.service.js';
import { MfaReset } from '../sessions/mfa-reset.service.js';
import { SessionEndHooks } from '../sessions/session-end-hooks.js';
import { AccountNotices } from '../mail/account-notices.js';
import {
  END_EVERYONE_REASON_MAX,
  SessionManagement,
} from '../sessions/session-management.service.js';
import { type EndAllOptions, type LoginOptions } from './accounts.command.js';
import { validated } from './input.js';
import { type CliOutput } from './output.js';
import { withContext } from './runtime.js';

/** `sessions:end-all`: why, in the operator's words, for the audit event. */
class EndAllSessionsInput {
  @Transform(trimmed)
  @IsString()
  @Length(1, END_EVERYONE_REASON_MAX)
  @NoControlCharacters()
  reason!: string;
}

/**
 * Ending sessions and what ends with them: the applications they signed in to hear of it
 * (back-channel logout, queued through the mail's pg-boss and sent by the service).
 */
const ENDING_SESSIONS = [SessionManagement, SessionEndHooks, BackchannelLogout];

const VERBS: Record<`${UserStatus}`, string> = {
  blocked: 'blocked',
  archived: 'archived',
  active: 'unblocked',
};

export async function changeStatus(
  status: 'blocked' | 'archived' | 'active',
  options: LoginOptions,
  out: CliOutput,
): Promise<void> {
  const target = status as UserStatus;
  await withContext(
    { migrate: options.migrate, mail: true, providers: [...ENDING_SESSIONS, AccountStatus] },
    async (context) => {
      const { user, previous, endedSessions } = await context
        .get(AccountStatus)
        .change(options.login, target, 'cli');
      out.result(
        [
          `${VERBS[status]} ${user.login}${previous === target ? ` (it was already ${status})` : ''}${
            target === UserStatus.Active ? '' : `: ${endedSessions} sessions ended`
          }`,
        ],
        { login: user.login, status, previousStatus: previous, endedSessions },
      );
    },
  );
}

/** `user:mfa-reset`: the lost factor removed after the operator proved who asks (MfaReset). */
export async function mfaReset(options: LoginOptions, out: CliOutput): Promise<void> {
  await withContext(
    {
      migrate: options.migrate,
      mail: true,
      providers: [...ENDING_SESSIONS, AccountNotices, MfaReset],
    },
    async (context) => {
      const { user, removed, endedSessions, notified } = await context
        .get(MfaReset)
        .byLogin(options.login);
      out.result(
        [
          `second factor of ${user.login} reset (${removed.join(', ')}): ${endedSessions} sessions ended, ${
            notified ? 'notice queued to the verified e-mail' : 'no verified e-mail to notify'
          }`,
        ],
        { login: user.login, removed, endedSessions, notified },
      );
    },
  );
}

export async function endAll(options: EndAllOptions, out: CliOutput): Promise<void> {
  const { reason } = await validated(EndAllSessionsInput, { reason: options.reason });
  await withContext(
    { migrate: options.migrate, mail: true, providers: ENDING_SESSIONS },
    async (context) => {
      const ended = await context.get(SessionManagement).endEveryone(reason, 'cli');
      out.result([`ended ${ended} sessions: every user must log in again`], {
        endedSessions: ended,
      });
    },
  );
}
