import { MikroOrmModule } from '@mikro-orm/nestjs';
import { type DynamicModule, Global, Module, type Provider } from '@nestjs/common';
import { type Logger } from 'pino';
import { AuditModule } from '../audit/audit.module.js';
import { AppConfig } from '../config/app-config.js';
import { ormOptions } from '../database/orm-config.js';
import { ENTITIES } from '../entities.js';

export interface CliModuleOptions {
  config: AppConfig;
  logger: Logger;
  databaseUrl: string;
  /**
   * The services the command calls and what they inject, the same classes the API's modules
   * provide (the rules stay in the services). The API's feature modules themselves are not
   * imported: they bring controllers, guards and workers whose start costs seconds.
   */
  providers: Provider[];
  /** Modules beyond the ORM and audit (the mail outbox, for a command that queues mail). */
  imports?: DynamicModule[];
}

/**
 * The validated configuration for every provider (the outbox's too), as AppConfigModule gives it
 * to the service, without @nestjs/config's ConfigService, which no service injects.
 */
@Global()
@Module({})
class CliConfigModule {
  static of(config: AppConfig): DynamicModule {
    return {
      module: CliConfigModule,
      providers: [{ provide: AppConfig, useValue: config }],
      exports: [AppConfig],
    };
  }
}

/** The application context of one command: configuration, the ORM, audit, and its services. */
@Module({})
export class CliModule {
  static forCommand({
    config,
    logger,
    databaseUrl,
    providers,
    imports = [],
  }: CliModuleOptions): DynamicModule {
    return {
      module: CliModule,
      imports: [
        CliConfigModule.of(config),
        MikroOrmModule.forRoot(ormOptions(databaseUrl, logger, ENTITIES)),
        AuditModule,
        ...imports,
      ],
      providers,
    };
  }
}
