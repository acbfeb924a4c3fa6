import { type DynamicModule, Global, Module, type Provider, type Type } from '@nestjs/common';
import { DELIVERY_LISTENER, type DeliveryListenerPort } from './delivery-listener.js';
import { MAIL_DATABASE_URL, MAIL_WORKER, MailOutbox } from './mail.outbox.js';
import { MailTemplates } from './mail-templates.js';
import { AccountNotices } from './account-notices.js';

// Global as configuration is: one outbox per process, configured once by the composition root.
@Global()
@Module({})
export class MailModule {
  /**
   * `deliveryListener`: the class (of a feature above mail) told where each message stands; a
   * worker needs one, a process that only enqueues (the command line) does not.
   */
  static forRoot(
    databaseUrl: string,
    worker: boolean,
    deliveryListener?: Type<DeliveryListenerPort>,
  ): DynamicModule {
    const listener: Provider[] = deliveryListener
      ? [{ provide: DELIVERY_LISTENER, useClass: deliveryListener }]
      : [];
    return {
      module: MailModule,
      providers: [
        { provide: MAIL_DATABASE_URL, useValue: databaseUrl },
        { provide: MAIL_WORKER, useValue: worker },
        ...listener,
        MailOutbox,
        MailTemplates,
        AccountNotices,
      ],
      exports: [MailOutbox, MailTemplates, AccountNotices],
    };
  }
}
