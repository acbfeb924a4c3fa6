import { Global, Module } from '@nestjs/common';
import { PASSWORD_CONTEXT_WORDS } from '../accounts/password-context.js';
import { GosuslugiModule } from '../gosuslugi/gosuslugi.module.js';
import { RenderingModule } from '../rendering/rendering.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { ACCESS_TOKEN_CLAIMS } from '../sessions/token-claims.js';
import { STAFF_ROLES } from '../sessions/staff-roles.js';
import { PosStaffRoles } from './pos-staff-roles.js';
import { ConfirmationService } from './confirmation.service.js';
import { MemberImportController } from './import/member-import.controller.js';
import { MemberImport } from './import/member-import.service.js';
import { Invitations } from './invitations.service.js';
import { MemberSessionsController } from './member-sessions.controller.js';
import { MemberSessions } from './member-sessions.service.js';
import { MembersController } from './members.controller.js';
import { MembersService } from './members.service.js';
import { OperatorRoster } from './operator-roster.service.js';
import { OperatorUsers } from './operator-users.service.js';
import { OperatorsService } from './operators.service.js';
import { OrganizationTree } from './organization-tree.service.js';
import { OrganizationsController } from './organizations.controller.js';
import { OrganizationsService } from './organizations.service.js';
import { PosAccess } from './pos-access.service.js';
import { PosAreaGuard } from './pos-area.guard.js';
import { PosPasswordContext } from './pos-password-context.js';
import { PosTokenClaims } from './pos-token-claims.js';
import { PosController } from './pos.controller.js';
import { PublicStatusService } from './public-status.service.js';
import { ReportService } from './report.service.js';
import { WidgetService } from './widget.service.js';
import { WidgetPlacementService } from './widget-placement/widget-placement.service.js';
import { MemberEdits } from './member-edits.service.js';
import { MemberList } from './member-list.service.js';

const SERVICES = [
  OperatorsService,
  OperatorRoster,
  OrganizationTree,
  PosAccess,
  PosAreaGuard,
  Invitations,
  MembersService,
  MemberList,
  MemberEdits,
  MemberImport,
  OrganizationsService,
  ConfirmationService,
  ReportService,
  PublicStatusService,
  WidgetService,
  WidgetPlacementService,
  PosTokenClaims,
  PosPasswordContext,
];

/**
 * The ПОС services are global: the Госуслуги callback accepts invitations and access tokens
 * carry memberships, and new passwords are checked against organisation names, without those
 * features importing this one.
 */
@Global()
@Module({
  providers: [
    ...SERVICES,
    PosStaffRoles,
    { provide: ACCESS_TOKEN_CLAIMS, useExisting: PosTokenClaims },
    { provide: PASSWORD_CONTEXT_WORDS, useExisting: PosPasswordContext },
    { provide: STAFF_ROLES, useExisting: PosStaffRoles },
  ],
  exports: [...SERVICES, ACCESS_TOKEN_CLAIMS, PASSWORD_CONTEXT_WORDS, STAFF_ROLES],
})
export class PosCoreModule {}

@Module({
  imports: [GosuslugiModule, SessionsModule, RenderingModule],
  controllers: [
    OrganizationsController,
    MembersController,
    MemberImportController,
    MemberSessionsController,
    PosController,
  ],
  providers: [MemberSessions, OperatorUsers],
  // The «Администратор ЛКО» pages end a member's sessions through the same service as the API;
  // the operator's pages block accounts and end sessions through AccountStatus (OperatorUsers).
  exports: [MemberSessions, OperatorUsers],
})
export class PosModule {}
