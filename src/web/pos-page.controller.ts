import { Body, Controller, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { IsIn, IsOptional, IsUUID } from 'class-validator';
import { type HttpResponse } from '../common/http.js';
import { ConfirmationService } from '../pos/confirmation.service.js';
import { STATUS_NAMES } from '../pos/pos.texts.js';
import { PageContext } from './page-context.js';
import { FormPage, type FormPageState } from './form-page.js';
import { PageForm } from './page-routes.js';
import { CsrfFormDto } from '../rendering/csrf.js';
import { Call, type PageCall } from './page-call.js';

/** The first-login dialog form: an unticked checkbox is simply absent. */
export class ConfirmationFormDto extends CsrfFormDto {
  @IsUUID('4')
  membershipId!: string;

  @IsOptional()
  @IsIn(['on'])
  trainingCompleted?: 'on';

  @IsOptional()
  @IsIn(['on'])
  organizationReady?: 'on';
}

/** /pos: the person's organisation accounts and, until confirmed, the two first-login boxes. */
@ApiExcludeController()
@Controller('pos')
export class PosPageController extends FormPage {
  constructor(
    private readonly confirmation: ConfirmationService,
    context: PageContext,
  ) {
    super(context);
  }

  @PageForm('/pos', 'confirmation')
  async confirm(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Body() form: ConfirmationFormDto,
  ): Promise<void> {
    const answer = {
      membershipId: form.membershipId,
      trainingCompleted: form.trainingCompleted === 'on',
      organizationReady: form.organizationReady === 'on',
    };
    await this.act(request, response, session, '/pos', () =>
      this.confirmation.confirm(session.user, answer, client),
    );
  }

  protected async render(page: FormPageState): Promise<void> {
    const { request, response, session, status, notice } = page;
    const summary = await this.confirmation.summary(session.user);
    await this.context.send(request, response, session, 'pos', status, 'pos', {
      pageUrl: '/pos',
      pending: summary.pending,
      memberships: summary.memberships.map((m) => ({ ...m, statusName: STATUS_NAMES[m.status] })),
      error: notice?.text,
    });
  }
}
