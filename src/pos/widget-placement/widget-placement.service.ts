import { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { HttpStatus, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { type Job } from 'pg-boss';
import { AuditService } from '../../audit/audit.service.js';
import { type ClientInfo } from '../../common/client-info.js';
import { DomainError } from '../../common/errors.js';
import { AppConfig } from '../../config/app-config.js';
import { type User } from '../../identity/user.entity.js';
import { MailOutbox } from '../../mail/mail.outbox.js';
import { Organization } from '../organization.entity.js';
import { PosAccess } from '../pos-access.service.js';
import { hasWidget } from '../widget-code.js';
import { placementOf, type WidgetPlacement } from './placement-texts.js';
import { fetchSite, SITE_FETCH_LIMITS } from './site-fetch.js';

export { placementOf, type WidgetPlacement } from './placement-texts.js';

export const WIDGET_CHECK_QUEUE = 'widget-check';
/** pg-boss's cron queue: once a day every organisation with an official site is checked again. */
export const WIDGET_CHECK_DAILY_QUEUE = 'widget-check-daily';
const DAILY_CRON = '30 3 * * *';
/** «Проверить сейчас» once a minute per organisation. */
export const CHECK_REQUEST_INTERVAL_SECONDS = 60;

interface CheckJob {
  organizationId: string;
}

/**
 * «Виджет размещён» means placed: a background job (pg-boss, beside the mail outbox) fetches the
 * organisation's official site under the rules of site-fetch.ts and looks for the widget code
 * with its ЛКО number. Administrators ask for a check now (once a minute per organisation);
 * every organisation with a site is checked again daily.
 */
@Injectable()
export class WidgetPlacementService implements OnModuleInit {
  private readonly logger = new Logger('WidgetPlacement');

  constructor(
    private readonly em: EntityManager,
    private readonly orm: MikroORM,
    private readonly outbox: MailOutbox,
    private readonly access: PosAccess,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    const boss = this.outbox.jobs;
    const options = { retryLimit: 0, expireInSeconds: 60 };
    await boss.createQueue(WIDGET_CHECK_QUEUE, options);
    await boss.createQueue(WIDGET_CHECK_DAILY_QUEUE, options);
    if (!this.outbox.runsWorkers) return;
    await boss.schedule(WIDGET_CHECK_DAILY_QUEUE, DAILY_CRON, {}, { tz: 'Europe/Moscow' });
    await boss.work<CheckJob>(
      WIDGET_CHECK_QUEUE,
      { batchSize: 1, pollingIntervalSeconds: 0.5 },
      async ([job]) => this.run(job),
    );
    await boss.work(WIDGET_CHECK_DAILY_QUEUE, async () => this.queueAll());
  }

  /** «Проверить сейчас»: 202 with the job queued; 409 without a site, 429 within the minute. */
  async requestCheck(user: User, organizationId: string, client: ClientInfo): Promise<void> {
    const organization = await this.access.administered(user, organizationId);
    if (!organization.officialSiteUrl)
      throw new DomainError(
        HttpStatus.CONFLICT,
        'no_official_site',
        'Укажите адрес официального сайта на вкладке «Данные организации»: проверять пока нечего.',
      );
    // One statement decides, so two clicks at once cannot both pass.
    const claimed = await this.em.getConnection().execute<{ id: string }[]>(
      `update pos_organizations set widget_check_requested_at = now()
          where id = ? and (widget_check_requested_at is null
                or widget_check_requested_at <= now() - make_interval(secs => ?))
          returning id`,
      [organization.id, CHECK_REQUEST_INTERVAL_SECONDS],
    );
    if (claimed.length === 0) {
      const [row] = await this.em.getConnection().execute<{ wait: number }[]>(
        `select ceil(extract(epoch from widget_check_requested_at + make_interval(secs => ?) - now()))::int as wait
             from pos_organizations where id = ?`,
        [CHECK_REQUEST_INTERVAL_SECONDS, organization.id],
      );
      const wait = Math.max(1, row?.wait ?? CHECK_REQUEST_INTERVAL_SECONDS);
      throw new DomainError(
        HttpStatus.TOO_MANY_REQUESTS,
        'widget_check_limit',
        `Сайт уже проверяется. Следующую проверку можно запросить через ${wait} с.`,
        undefined,
        { retryAfterSeconds: wait },
      );
    }
    await this.outbox.jobs.send(
      WIDGET_CHECK_QUEUE,
      { organizationId: organization.id } satisfies CheckJob,
      {
        singletonKey: organization.id,
      },
    );
    this.audit.record({
      type: 'pos.widget.check_requested',
      actorUserId: user.id,
      organizationId: organization.id,
      client,
      details: { siteUrl: organization.officialSiteUrl },
    });
    await this.em.flush();
  }

  /** Checks one organisation's site now and stores the outcome (the job's body; tests call it too). */
  async check(organizationId: string): Promise<WidgetPlacement | null> {
    const em = this.orm.em.fork();
    const organization = await em.findOne(Organization, { id: organizationId });
    if (!organization?.officialSiteUrl) return null;
    const site = organization.officialSiteUrl;
    const outcome = await fetchSite(site, {
      ...SITE_FETCH_LIMITS,
      // Tests only (production refuses the setting): their local site, on a port of its own.
      ...(this.config.widget.allowPrivateAddresses && {
        allowAddress: () => true,
        allowPort: () => true,
      }),
      extraCa: this.config.widget.extraCa,
    });
    // The address may have changed while the site was fetched: that result is not this site's.
    await em.refresh(organization);
    if (organization.officialSiteUrl !== site) return placementOf(organization);
    organization.widgetCheckedAt = new Date();
    if (!outcome.ok) {
      organization.widgetCheckState = 'site_unavailable';
      organization.widgetCheckReason = outcome.reason;
      this.logger.log(
        { organizationId, reason: outcome.reason, detail: outcome.detail },
        'widget check: site unavailable',
      );
    } else {
      const found = hasWidget(outcome.html, this.config.widget.posBaseUrl, organization.lkoNumber);
      organization.widgetCheckState = found ? 'found' : 'not_found';
      organization.widgetCheckReason = null;
    }
    await em.flush();
    return placementOf(organization);
  }

  private async run(job: Job<CheckJob>): Promise<void> {
    await this.check(job.data.organizationId);
  }

  private async queueAll(): Promise<void> {
    const rows = await this.orm.em
      .fork()
      .getConnection()
      .execute<{ id: string }[]>(
        `select id from pos_organizations where official_site_url is not null`,
      );
    for (const { id } of rows)
      await this.outbox.jobs.send(WIDGET_CHECK_QUEUE, { organizationId: id } satisfies CheckJob, {
        singletonKey: id,
      });
  }
}
