import { Global, Module } from '@nestjs/common';
import { INVITATION_ACCEPTANCE } from '../gosuslugi/invitation-acceptance.js';
import { PASSWORD_CONTEXT_WORDS } from '../accounts/password-context.js';
import { AuditModule } from '../audit/audit.module.js';
import { IdentityModule } from '../identity/identity.module.js';
import { GosuslugiModule } from '../gosuslugi/gosuslugi.module.js';
import { RenderingModule } from '../rendering/rendering.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { ACCESS_TOKEN_CLAIMS } from '../sessions/token-claims.js';
import { STAFF_ROLES } from '../sessions/staff-roles.js';
import { PosStaffRoles } from './pos-staff-roles.js';
import { ConfirmationService } from './confirmation.service.js';
import { MemberImportController } from './import/member-import.controller.js';
import { MemberImport } from './import/member-import.service.js';
import { InvitationAcceptor } from './invitation-acceptor.service.js';
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
  InvitationAcceptor,
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
  PosStaffRoles,
];

/** The ПОС services, for the features above ПОС that call them (the OpenID Provider, the pages). */
@Module({ imports: [AuditModule, IdentityModule], providers: SERVICES, exports: SERVICES })
export class PosCoreModule {}

/**
 * The ports that features below ПОС own and ПОС implements: access-token claims and staff roles
 * (sessions), the password's context words (accounts), invitation acceptance (the Госуслуги
 * callback). Global because Nest shows a module a provider only through its imports or a global
 * module, and those features must not import ПОС; it holds the port bindings and nothing else.
 */
@Global()
@Module({
  imports: [PosCoreModule],
  providers: [
    { provide: ACCESS_TOKEN_CLAIMS, useExisting: PosTokenClaims },
    { provide: PASSWORD_CONTEXT_WORDS, useExisting: PosPasswordContext },
    { provide: STAFF_ROLES, useExisting: PosStaffRoles },
    { provide: INVITATION_ACCEPTANCE, useExisting: InvitationAcceptor },
  ],
  exports: [ACCESS_TOKEN_CLAIMS, PASSWORD_CONTEXT_WORDS, STAFF_ROLES, INVITATION_ACCEPTANCE],
})
export class PosPortsModule {}

@Module({
  imports: [
    AuditModule,
    IdentityModule,
    PosCoreModule,
    GosuslugiModule,
    SessionsModule,
    RenderingModule,
  ],
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
  exports: [PosCoreModule, MemberSessions, OperatorUsers],
})
export class PosModule {}
