import { readFileSync } from 'node:fs';
import { PasswordHasher } from '../identity/password-hasher.service.js';
import { generatePassword, OperatorsService } from '../pos/operators.service.js';
import { type OperatorCreateOptions } from './operators.command.js';
import { type CliOutput } from './output.js';
import { withContext } from './runtime.js';

export async function operatorCreate(
  options: OperatorCreateOptions,
  out: CliOutput,
): Promise<void> {
  const password = options.passwordStdin
    ? readFileSync(0, 'utf8').split('\n')[0]
    : generatePassword();
  await withContext(
    { migrate: options.migrate, providers: [PasswordHasher, OperatorsService] },
    async (context) => {
      const { user, created, removed } = await context
        .get(OperatorsService)
        .createOrReset(options.login, password, {
          promote: options.promote,
          resetCredentials: options.resetCredentials,
        });
      const lines: string[] = [];
      if (removed)
        lines.push(
          `removed from ${user.login}: linked identities [${removed.identities.join(', ')}]; password ${
            removed.password ? 'yes' : 'none'
          }; e-mail ${removed.email ?? 'none'}; pending e-mail ${removed.pendingEmail ?? 'none'}; phone ${
            removed.phone ?? 'none'
          }; ${removed.accountTokens} e-mail links; ${removed.sessions} sessions ended`,
        );
      lines.push(`${created ? 'created' : 'updated'} platform operator ${user.login}`);
      if (!options.passwordStdin) lines.push(`password (shown once): ${password}`);
      out.result(lines, {
        operator: { id: user.id, login: user.login, created },
        // A generated password, shown this once; never echoed when it came on stdin.
        ...(!options.passwordStdin && { password }),
        removed,
      });
    },
  );
}
