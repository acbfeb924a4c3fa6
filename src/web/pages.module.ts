import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module.js';
import { GosuslugiModule } from '../gosuslugi/gosuslugi.module.js';
import { PosModule } from '../pos/pos.module.js';
import { ProviderModule } from '../provider/provider.module.js';
import { RenderingModule } from '../rendering/rendering.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { AccountPageController } from './account-page.controller.js';
import { FrontDoorController } from './front-door.controller.js';
import { AccountSave } from './account/account-save.js';
import { AccountPageView } from './account/account-view.js';
import { ApplicationsPageController } from './applications-page.controller.js';
import { LoginController } from './login.controller.js';
import { OperatorClientsController } from './operator/operator-clients.controller.js';
import { OperatorPageController } from './operator/operator-page.controller.js';
import { OperatorPagesGuard } from './operator/operator-pages.guard.js';
import { OperatorPeopleController } from './operator/operator-people.controller.js';
import { OperatorView } from './operator/operator-view.js';
import { PageContext } from './page-context.js';
import { PageSessions } from './page-session.js';
import { PosAdminPageController } from './pos-admin-page.controller.js';
import { PosAdminWidgetController } from './pos-admin-widget.js';
import { MembersListView } from './pos-admin/members-list.js';
import { PosMembersPageController } from './pos-admin/members-page.controller.js';
import { PosMemberSessionsPageController } from './pos-admin/member-sessions-page.controller.js';
import { PosAdminView } from './pos-admin/admin-view.js';
import { PosImportPageController } from './pos-import-page.controller.js';
import { PosPageController } from './pos-page.controller.js';
import { PosPublicStatusPageController } from './pos-public-status-page.controller.js';
import { StatusTab } from './pos-status-tab.js';
import { PublicStatusPageController } from './public-status-page.controller.js';
import { RecoveryPageController } from './recovery-page.controller.js';
import { RegisterPageController } from './register-page.controller.js';
import { SecondFactorPageController } from './second-factor-page.controller.js';
import { AccountMfaPageController } from './account-mfa-page.controller.js';
import { AccountPasskeysPageController } from './account-passkeys-page.controller.js';

/** Server-rendered pages for people (Russian). */
@Module({
  imports: [
    SessionsModule,
    AccountsModule,
    GosuslugiModule,
    PosModule,
    ProviderModule,
    RenderingModule,
  ],
  providers: [
    PageSessions,
    PageContext,
    OperatorView,
    OperatorPagesGuard,
    StatusTab,
    MembersListView,
    PosAdminView,
    AccountPageView,
    AccountSave,
  ],
  controllers: [
    FrontDoorController,
    AccountPageController,
    ApplicationsPageController,
    LoginController,
    RegisterPageController,
    PosPageController,
    PosAdminPageController,
    PosPublicStatusPageController,
    PublicStatusPageController,
    PosAdminWidgetController,
    PosMembersPageController,
    PosMemberSessionsPageController,
    PosImportPageController,
    OperatorPageController,
    OperatorPeopleController,
    OperatorClientsController,
    RecoveryPageController,
    SecondFactorPageController,
    AccountMfaPageController,
    AccountPasskeysPageController,
  ],
})
export class PagesModule {}
