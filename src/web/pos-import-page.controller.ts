import { Body, Header, Post, Res } from '@nestjs/common';
import { AdminPages } from './pos-admin/admin-pages.js';
import { IsIn, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { type HttpRequest, type HttpResponse } from '../common/http.js';
import { Page } from '../common/auth-decorators.js';
import { FormPost } from '../rendering/form-post.js';
import { type StaleForm } from '../sessions/auth-context.js';
import { DomainError } from '../common/errors.js';
import { OUTCOME_TEXTS, ImportErrors } from '../pos/import/import.texts.js';
import { importReportCsv } from '../pos/import/import-report.js';
import { MAX_IMPORT_BYTES, MAX_IMPORT_ROWS, templateCsv } from '../pos/import/member-file.js';
import { type ImportResult, MemberImport } from '../pos/import/member-import.service.js';
import { OrganizationsService } from '../pos/organizations.service.js';
import { PosErrors } from '../pos/pos.texts.js';
import { ImportUpload, uploadedFile } from '../pos/import/import-body.js';
import { PosArea } from '../pos/pos-routes.js';
import { type Session } from '../sessions/session.entity.js';
import { PageContext } from './page-context.js';
import { PageRenderer } from '../rendering/page-renderer.js';
import { type Notice, STALE_FORM, STALE_PAGE } from '../rendering/page.texts.js';
import { RecentAuthentication } from '../sessions/recent-authentication.guard.js';
import { SignedInPage } from './page-routes.js';
import { CsrfFormDto } from '../rendering/csrf.js';
import { isId } from '../common/ids.js';
import { Call, type PageCall } from './page-call.js';
import { FormPage, type FormPageState, type PageQuery, queryText } from './form-page.js';

/** The upload (a file) or, after the check, the same file carried on to «Импортировать». */
export class ImportFormDto extends CsrfFormDto {
  @IsUUID('4')
  organizationId!: string;

  @IsIn(['check', 'import'])
  step!: 'check' | 'import';

  /** The checked file, base64 (the multipart field limit bounds it). */
  @IsOptional()
  @IsString()
  content?: string;

  @IsOptional()
  @IsString()
  @MaxLength(255)
  fileName?: string;
}

interface ImportView {
  status: number;
  organizationId?: string;
  notice?: Notice;
  result?: ImportResult;
  /** The checked file, for the «Импортировать» form. */
  content?: string;
  fileName?: string;
}

const importUrl = (organizationId: string) => `/pos/admin/import?org=${organizationId}`;

/** What the import page reads from its query: the organisation `?org=` names. */
type ImportQuery = Pick<ImportView, 'organizationId'>;

/**
 * «Импорт из файла» as pages: upload → the dry run's table (nothing written) → «Импортировать»
 * (the same file, checked again) → the outcome per row and the report to download. Every step
 * goes through MemberImport, as the API and the command line do.
 */
@AdminPages('pos/admin/import')
export class PosImportPageController extends FormPage<ImportQuery> {
  constructor(
    private readonly imports: MemberImport,
    private readonly organizations: OrganizationsService,
    private readonly pages: PageRenderer,
    context: PageContext,
  ) {
    super(context);
  }

  /** The organisation `?org=` names (the caller's first by default). */
  protected override fromQuery(query: PageQuery): ImportQuery {
    return { organizationId: queryText(query.org) };
  }

  protected render(page: FormPageState, extra: ImportQuery): Promise<void> {
    const { request, response, session, status, notice } = page;
    return this.show(request, response, session, { status, notice, ...extra });
  }

  /** The template: the columns with one example row. */
  @SignedInPage('template.csv')
  @Header('Content-Type', 'text/csv; charset=utf-8')
  @Header('Content-Disposition', 'attachment; filename="import-template.csv"')
  template(): string {
    return templateCsv();
  }

  @Post()
  // Importing writes invitations, administrators among them (ASVS 7.5.3); the dry run writes
  // nothing. Runs after the form is read (it looks at its step), the form token after that.
  @RecentAuthentication(
    (request) => (request.body as { step?: unknown } | undefined)?.step !== 'check',
  )
  // The form is read only for an administrator: another origin, no session (the login page) and
  // no administrator role (403) are answered before its body is read.
  @ImportUpload('multipart')
  @PosArea('admin')
  @Page({ returnTo: '/pos/admin/import' })
  @FormPost()
  async upload(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Body() form: ImportFormDto,
  ): Promise<void> {
    const uploaded = uploadedFile(request);
    const bytes = uploaded?.size
      ? uploaded.buffer
      : form.content
        ? Buffer.from(form.content, 'base64')
        : null;
    const fileName = uploaded?.originalname ?? form.fileName ?? 'import';
    try {
      if (!bytes || bytes.length === 0) throw ImportErrors.noFile();
      const dryRun = form.step === 'check';
      const result = await this.imports.run(
        session.user,
        form.organizationId,
        bytes,
        dryRun,
        client,
      );
      await this.show(request, response, session, {
        status: 200,
        organizationId: form.organizationId,
        result,
        ...(dryRun && { content: bytes.toString('base64'), fileName }),
      });
    } catch (error) {
      const { status, notice } = this.context.refusal(error);
      await this.show(request, response, session, {
        status,
        organizationId: form.organizationId,
        notice,
      });
    }
  }

  override async staleForm(form: StaleForm): Promise<void> {
    const { session } = this.context.staleAuth(form);
    await this.show(form.request, form.response, session, {
      status: 403,
      organizationId: form.field('organizationId'),
      notice: { kind: 'error', text: STALE_FORM },
    });
  }

  private async show(
    request: HttpRequest,
    response: HttpResponse,
    session: Session,
    view: ImportView,
  ): Promise<void> {
    const user = session.user;
    const organizationId =
      view.organizationId ?? (await this.organizations.adminRoots(user))[0]?.id;
    let organization;
    try {
      if (!organizationId || !isId(organizationId)) throw PosErrors.organizationNotFound();
      organization = await this.organizations.details(user, organizationId);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      // A stale form is refused as such (403), whatever organisation it named.
      if (view.status === 403) return this.pages.send(response, 403, 'message', STALE_PAGE);
      // This page names a refused organisation «не найдена» even when its answer is 403.
      return this.context.organizationRefused(response, error, 'Организация не найдена');
    }
    const result = view.result;
    await this.context.send(request, response, session, 'admin', view.status, 'pos-import', {
      pageUrl: importUrl(organization.id),
      organization,
      backHref: `/pos/admin?org=${organization.id}`,
      notice: view.notice,
      maxRows: MAX_IMPORT_ROWS,
      maxMegabytes: MAX_IMPORT_BYTES / 1024 / 1024,
      result,
      outcomeNames: OUTCOME_TEXTS,
      problems: result?.rows.filter((row) => row.outcome !== 'will_invite'),
      content: view.content,
      fileName: view.fileName,
      reportHref:
        result && !result.dryRun
          ? `data:text/csv;charset=utf-8;base64,${Buffer.from(importReportCsv(result)).toString('base64')}`
          : undefined,
    });
  }
}
