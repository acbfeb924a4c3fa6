import { type DynamicModule, Global, Module } from '@nestjs/common';
import { MAIL_DATABASE_URL, MAIL_WORKER, MailOutbox } from './mail.outbox.js';
import { MailTemplates } from './mail-templates.js';
import { AccountNotices } from './account-notices.js';

@Global()
@Module({})
export class MailModule {
  static forRoot(databaseUrl: string, worker: boolean): DynamicModule {
    return {
      module: MailModule,
      providers: [
        { provide: MAIL_DATABASE_URL, useValue: databaseUrl },
        { provide: MAIL_WORKER, useValue: worker },
        MailOutbox,
        MailTemplates,
        AccountNotices,
      ],
      exports: [MailOutbox, MailTemplates, AccountNotices],
    };
  }
}
