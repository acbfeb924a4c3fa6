import { MikroOrmModule } from '@mikro-orm/nestjs';
import { createHash } from 'node:crypto';
import { type DynamicModule, type ExecutionContext, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE, Reflector } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { ThrottlerModule, type ThrottlerStorage } from '@nestjs/throttler';
import { AppThrottlerGuard } from './throttling/throttler.guard.js';
import { CREDENTIALS, credentialsKey, LOGIN_GROUPS } from './throttling/credential-throttle.js';
import { ANONYMOUS, SIGNED_IN } from './throttling/signed-in.js';
import { THROTTLER_STORAGE, ThrottlingStorageModule } from './throttling/throttling.module.js';
import { type Logger } from 'pino';
import { AccountsModule } from './accounts/accounts.module.js';
import { AuditModule } from './audit/audit.module.js';
import { CredentialEndpoint, ThrottleGroup } from './common/auth-decorators.js';
import { HealthController } from './common/health.controller.js';
import { JsonApiGuard } from './common/json-api.guard.js';
import { GracefulShutdown } from './common/graceful-shutdown.js';
import { PinoNestLogger } from './common/request-logging.js';
import { createValidationPipe } from './common/validation.js';
import { type AppConfig } from './config/app-config.js';
import { AppConfigModule } from './config/config.module.js';
import { ormOptions } from './database/orm-config.js';
import { ENTITIES } from './entities.js';
import { IdentityModule } from './identity/identity.module.js';
import { GosuslugiModule } from './gosuslugi/gosuslugi.module.js';
import { MailModule } from './mail/mail.module.js';
import { MemberDeliveryState } from './pos/member-delivery-state.js';
import { PosModule, PosPortsModule } from './pos/pos.module.js';
import { ProviderModule } from './provider/provider.module.js';
import { HttpExceptionFilter } from './rendering/http-exception.filter.js';
import { RenderingModule } from './rendering/rendering.module.js';
import { AuthGuard } from './sessions/auth.guard.js';
import { SessionsModule } from './sessions/sessions.module.js';
import { PagesModule } from './web/pages.module.js';

export interface AppModuleOptions {
  config: AppConfig;
  logger: Logger;
  databaseUrl: string;
  /** Whether this process delivers queued mail (the service) or only queues it (the command line). */
  mailWorker?: boolean;
}

const reflector = new Reflector();

/** Whether a route belongs to a login group (LOGIN_GROUPS): the school-sized ceiling applies. */
function isLoginGroup(context: ExecutionContext): boolean {
  const group = reflector.get(ThrottleGroup, context.getHandler());
  return group !== undefined && LOGIN_GROUPS.has(group);
}

/**
 * Where the credentials counter applies, the general one adds nothing but a second write per
 * attempt: the login's counter is sized for a school on its own, the others are stricter than the
 * general one (unless configured otherwise).
 */
function credentialsCountedIn(config: AppConfig): (context: ExecutionContext) => boolean {
  return (context) => {
    if (!reflector.get(CredentialEndpoint, context.getHandler())) return false;
    return isLoginGroup(context) || config.throttle.authLimit <= config.throttle.limit;
  };
}

@Module({})
export class AppModule {
  static forRoot({
    config,
    logger,
    databaseUrl,
    mailWorker = true,
  }: AppModuleOptions): DynamicModule {
    // Never loaded in production: the stand-ins and the development mailbox.
    const development = !config.isProduction
      ? [import('./dev/dev.module.js').then(({ DevModule }) => DevModule.forRoot(config))]
      : [];
    const credentialsCounted = credentialsCountedIn(config);
    // One store for the throttler and the health check (each forRoot() call makes its own).
    const throttlingStorage = ThrottlingStorageModule.forRoot(
      config.throttle.redisUrl,
      createHash('sha256').update(databaseUrl).digest('hex').slice(0, 16),
    );
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        // The request context is configureApp's (src/database/request-context.ts): forked on first use.
        MikroOrmModule.forRoot({
          ...ormOptions(databaseUrl, logger, ENTITIES),
          registerRequestContext: false,
        }),
        ThrottlerModule.forRootAsync({
          imports: [throttlingStorage],
          inject: [THROTTLER_STORAGE],
          useFactory: (storage: ThrottlerStorage) => ({
            storage,
            // The general limit: ANONYMOUS per address and route, SIGNED_IN per account over
            // every route. Each request counts in exactly one of them (AppThrottlerGuard).
            throttlers: [
              {
                name: ANONYMOUS,
                ttl: config.throttle.ttlMs,
                limit: config.throttle.limit,
                skipIf: credentialsCounted,
              },
              {
                name: SIGNED_IN,
                ttl: config.throttle.ttlMs,
                limit: config.throttle.signedInLimit,
                skipIf: credentialsCounted,
              },
              {
                name: CREDENTIALS,
                // A login group counts every attempt against a ceiling sized for a NATed school;
                // its failures count against THROTTLE_AUTH_LIMIT (LoginFailures).
                ttl: (context) =>
                  isLoginGroup(context) ? config.throttle.loginWindowMs : config.throttle.ttlMs,
                limit: (context) =>
                  isLoginGroup(context) ? config.throttle.loginLimit : config.throttle.authLimit,
                skipIf: (context) => !reflector.get(CredentialEndpoint, context.getHandler()),
                // Per route, as the throttler does by default, except where routes share a group.
                generateKey: (context, tracker, name) => {
                  const group = reflector.get(ThrottleGroup, context.getHandler());
                  const route = group ?? `${context.getClass().name}-${context.getHandler().name}`;
                  return credentialsKey(route, name, tracker);
                },
              },
            ],
          }),
        }),
        TerminusModule,
        throttlingStorage,
        AuditModule,
        IdentityModule,
        SessionsModule,
        AccountsModule,
        RenderingModule,
        MailModule.forRoot(databaseUrl, mailWorker, MemberDeliveryState),
        PosPortsModule,
        GosuslugiModule,
        PosModule,
        ProviderModule,
        PagesModule,
        ...development,
      ],
      controllers: [HealthController],
      providers: [
        // Every global guard, in the order they run: forged JSON posts are refused first, then
        // throttling counts the request, against its account when it proves a live session and
        // against its address otherwise, then authentication decides (AuthGuard: deny by
        // default). The two share one session lookup per request (RequestAuthentication). After
        // the guards, a form post's token is checked before its handler runs (@FormPost() binds
        // FormTokenInterceptor to each form post).
        { provide: APP_GUARD, useClass: JsonApiGuard },
        { provide: APP_GUARD, useClass: AppThrottlerGuard },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
        { provide: APP_PIPE, useValue: createValidationPipe() },
        GracefulShutdown,
        // Nest's messages and the services' `new Logger(...)`, through the root logger.
        { provide: PinoNestLogger, useValue: new PinoNestLogger(logger) },
      ],
    };
  }
}
