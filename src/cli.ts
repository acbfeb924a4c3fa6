/**
 * The platform operator's command line: `npm run cli -- <command> [options]`. It runs the same
 * services and validation as the API, on the same database (the embedded one in development,
 * shared with a running `npm start`).
 *
 *   org:create    --name "…" --kind authority|institution [--parent <id or ЛКО number>]
 *   org:tree
 *   admin:invite  --org <id or ЛКО number> --email … --last-name … --first-name …
 *                 [--middle-name …] [--snils …] [--position …] [--roles admin,head]
 *                 (only the person with that ФИО, and SNILS if given, can accept it)
 *   operator:create --login … [--password-stdin] [--promote [--reset-credentials]]
 *                 (a generated password is printed once; --promote makes an existing ordinary
 *                 account an operator, refused if it has a linked identity, no verified e-mail
 *                 or a password set within 24 hours, unless --reset-credentials removes them
 *                 all first and prints what it removed; an existing operator gets a new password)
 *   user:block    --login …   (login refused, every session ends at once)
 *   user:archive  --login …   (the same, for an account that is retired)
 *   user:unblock  --login …   (blocked or archived → active; ended sessions stay ended)
 *   sessions:end-all --reason "…"
 *                 (every live session of everyone ends at once, e.g. after a leaked key;
 *                 audited with the reason; prints how many ended)
 */
import 'reflect-metadata';
import { MikroORM, RequestContext } from '@mikro-orm/postgresql';
import { NestFactory } from '@nestjs/core';
import { plainToInstance, Transform } from 'class-transformer';
import { IsString, Length, validate } from 'class-validator';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AppModule } from './app.module.js';
import { trimmed } from './accounts/dto/fields.js';
import { DomainError } from './common/errors.js';
import { UserStatus } from './identity/user.entity.js';
import { createRootLogger } from './common/logger.js';
import { flattenValidationErrors, NoControlCharacters } from './common/validation.js';
import { loadConfig } from './config/app-config.js';
import { migrateUp, resolveDatabase } from './database/database.js';
import { AddMemberDto } from './pos/dto/member.dto.js';
import { CreateOrganizationDto } from './pos/dto/organization.dto.js';
import { MembersService } from './pos/members.service.js';
import { generatePassword, OperatorsService } from './pos/operators.service.js';
import { Organization } from './pos/organization.entity.js';
import { OrganizationsService } from './pos/organizations.service.js';
import { AccountStatus } from './sessions/account-status.service.js';
import {
  END_EVERYONE_REASON_MAX,
  SessionManagement,
} from './sessions/session-management.service.js';

class UsageError extends Error {}

/** `sessions:end-all`: why, in the operator's words, for the audit event. */
class EndAllSessionsInput {
  @Transform(trimmed)
  @IsString()
  @Length(1, END_EVERYONE_REASON_MAX)
  @NoControlCharacters()
  reason!: string;
}

const USER_STATUS_COMMANDS: Record<string, [verb: string, status: UserStatus]> = {
  'user:block': ['blocked', UserStatus.Blocked],
  'user:archive': ['archived', UserStatus.Archived],
  'user:unblock': ['unblocked', UserStatus.Active],
};

async function dto<T extends object>(type: new () => T, plain: object): Promise<T> {
  const instance = plainToInstance(type, plain);
  const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0)
    throw new DomainError(
      422,
      'validation_failed',
      'Проверьте введённые данные',
      flattenValidationErrors(errors),
    );
  return instance;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      name: { type: 'string' },
      kind: { type: 'string' },
      parent: { type: 'string' },
      org: { type: 'string' },
      email: { type: 'string' },
      'last-name': { type: 'string' },
      'first-name': { type: 'string' },
      'middle-name': { type: 'string' },
      position: { type: 'string' },
      snils: { type: 'string' },
      roles: { type: 'string' },
      login: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      promote: { type: 'boolean' },
      'reset-credentials': { type: 'boolean' },
      reason: { type: 'string' },
    },
    strict: true,
  });
  if (!command)
    throw new UsageError(
      'a command is needed: org:create, org:tree, admin:invite, operator:create, user:block, user:unblock, user:archive, sessions:end-all',
    );

  const config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
  const logger = createRootLogger(config);
  const database = await resolveDatabase(config, logger);
  if (!config.isProduction) await migrateUp(database.url, logger);
  const app = await NestFactory.createApplicationContext(
    AppModule.forRoot({ config, logger, databaseUrl: database.url, mailWorker: false }),
    { logger: false },
  );
  const orm = app.get(MikroORM);
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const findOrganization = async (reference: string | undefined): Promise<Organization> => {
    if (!reference) throw new UsageError('--org/--parent is required');
    const where = /^\d+$/.test(reference) ? { lkoNumber: reference } : { id: reference };
    const found = await orm.em.fork().findOne(Organization, where);
    if (!found) throw new UsageError(`no organisation ${reference}`);
    return found;
  };
  try {
    await RequestContext.create(orm.em, async () => {
      switch (command) {
        case 'org:create': {
          const parent = values.parent ? await findOrganization(values.parent) : null;
          const input = await dto(CreateOrganizationDto, {
            name: values.name,
            kind: values.kind,
            parentId: parent?.id,
          });
          const created = await app.get(OrganizationsService).create('cli', input);
          out(
            `created ${created.kind} «${created.name}»: id ${created.id}, ЛКО № ${created.lkoNumber}`,
          );
          return;
        }
        case 'org:tree': {
          const all = await orm.em.find(Organization, {}, { orderBy: { path: 'asc' } });
          for (const o of all)
            out(
              `${'  '.repeat(o.path.split('/').filter(Boolean).length - 1)}${o.lkoNumber}  ${o.name}  (${o.kind}, ${o.id})`,
            );
          return;
        }
        case 'admin:invite': {
          const organization = await findOrganization(values.org);
          const input = await dto(AddMemberDto, {
            email: values.email,
            lastName: values['last-name'],
            firstName: values['first-name'],
            middleName: values['middle-name'],
            snils: values.snils,
            position: values.position,
            roles: (values.roles ?? 'admin').split(',').map((role) => role.trim()),
          });
          const member = await app.get(MembersService).add('cli', organization.id, input);
          out(
            `invited ${member.email} to «${organization.name}» as ${member.roleNames.join(', ')}; the invitation is in the mail outbox`,
          );
          return;
        }
        case 'operator:create': {
          if (!values.login) throw new UsageError('--login is required');
          const password = values['password-stdin']
            ? readFileSync(0, 'utf8').split('\n')[0]
            : generatePassword();
          if (values['reset-credentials'] && !values.promote)
            throw new UsageError('--reset-credentials goes with --promote');
          const { user, created, removed } = await app
            .get(OperatorsService)
            .createOrReset(values.login, password, {
              promote: values.promote,
              resetCredentials: values['reset-credentials'],
            });
          if (removed) {
            out(
              `removed from ${user.login}: linked identities [${removed.identities.join(', ')}]; password ${
                removed.password ? 'yes' : 'none'
              }; e-mail ${removed.email ?? 'none'}; pending e-mail ${removed.pendingEmail ?? 'none'}; phone ${
                removed.phone ?? 'none'
              }; ${removed.accountTokens} e-mail links; ${removed.sessions} sessions ended`,
            );
          }
          out(`${created ? 'created' : 'updated'} platform operator ${user.login}`);
          if (!values['password-stdin']) out(`password (shown once): ${password}`);
          return;
        }
        case 'user:block':
        case 'user:archive':
        case 'user:unblock': {
          if (!values.login) throw new UsageError('--login is required');
          const [verb, status] = USER_STATUS_COMMANDS[command];
          const { user, previous, endedSessions } = await app
            .get(AccountStatus)
            .change(values.login, status, 'cli');
          out(
            `${verb} ${user.login}${previous === status ? ` (it was already ${status})` : ''}${
              status === UserStatus.Active ? '' : `: ${endedSessions} sessions ended`
            }`,
          );
          return;
        }
        case 'sessions:end-all': {
          if (values.reason === undefined) throw new UsageError('--reason is required');
          const { reason } = await dto(EndAllSessionsInput, { reason: values.reason });
          const ended = await app.get(SessionManagement).endEveryone(reason, 'cli');
          out(`ended ${ended} sessions: every user must log in again`);
          return;
        }
        default:
          throw new UsageError(`unknown command ${command}`);
      }
    });
  } finally {
    await app.close();
    await database.embedded?.stop();
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof DomainError) {
    process.stderr.write(`${error.code}: ${error.message}\n`);
    for (const [field, problems] of Object.entries(error.errors ?? {})) {
      for (const problem of problems)
        process.stderr.write(`  ${field}: ${problem.code} — ${problem.message}\n`);
    }
    process.exit(2);
  }
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
