import { type MikroORM } from '@mikro-orm/postgresql';
import { Organization } from '../pos/organization.entity.js';
import { type CommonOptions } from './common.js';
import { validated } from './input.js';
import { type AdminInviteOptions, type OrgCreateOptions } from './organizations.command.js';
import { CliFailure, type CliOutput } from './output.js';
import { withContext } from './runtime.js';

/*
 * The services and the API's request DTOs are imported inside the command that uses them: the
 * DTOs carry @nestjs/swagger's decorators (some 500 modules with es-toolkit), which `org:tree`
 * has no use for.
 */

/** An organisation by its id or its ЛКО number (digits). */
async function findOrganization(orm: MikroORM, reference: string): Promise<Organization> {
  const where = /^\d+$/.test(reference) ? { lkoNumber: reference } : { id: reference };
  const found = await orm.em.findOne(Organization, where);
  if (!found) throw new CliFailure(2, 'organization_not_found', `нет организации ${reference}`);
  return found;
}

const depth = (organization: Organization) =>
  organization.path.split('/').filter(Boolean).length - 1;

const summary = (organization: Organization) => ({
  id: organization.id,
  lkoNumber: String(organization.lkoNumber),
  name: organization.name,
  kind: organization.kind,
  parentId: organization.parent?.id ?? null,
});

export async function orgCreate(options: OrgCreateOptions, out: CliOutput): Promise<void> {
  const [{ CreateOrganizationDto }, { OrganizationsService }, { PosAccess }] = await Promise.all([
    import('../pos/dto/organization.dto.js'),
    import('../pos/organizations.service.js'),
    import('../pos/pos-access.service.js'),
  ]);
  await withContext(
    { migrate: options.migrate, providers: [PosAccess, OrganizationsService] },
    async (context, orm) => {
      const parent = options.parent ? await findOrganization(orm, options.parent) : null;
      const input = await validated(CreateOrganizationDto, {
        name: options.name,
        kind: options.kind,
        parentId: parent?.id,
      });
      const created = await context.get(OrganizationsService).create('cli', input);
      out.result(
        [`created ${created.kind} «${created.name}»: id ${created.id}, ЛКО № ${created.lkoNumber}`],
        { organization: summary(created) },
      );
    },
  );
}

export async function orgTree(options: CommonOptions, out: CliOutput): Promise<void> {
  await withContext({ migrate: options.migrate }, async (_context, orm) => {
    const all = await orm.em.find(Organization, {}, { orderBy: { path: 'asc' } });
    out.result(
      all.map((o) => `${'  '.repeat(depth(o))}${o.lkoNumber}  ${o.name}  (${o.kind}, ${o.id})`),
      { organizations: all.map((o) => ({ ...summary(o), depth: depth(o) })) },
    );
  });
}

export async function adminInvite(options: AdminInviteOptions, out: CliOutput): Promise<void> {
  const [
    { AddMemberDto },
    { MembersService },
    { Invitations },
    { PosAccess },
    { IdentityLinks },
    { PersonalDataKey },
  ] = await Promise.all([
    import('../pos/dto/member.dto.js'),
    import('../pos/members.service.js'),
    import('../pos/invitations.service.js'),
    import('../pos/pos-access.service.js'),
    import('../identity/identity-links.service.js'),
    import('../identity/personal-data-key.service.js'),
  ]);
  await withContext(
    {
      migrate: options.migrate,
      mail: true,
      providers: [PosAccess, IdentityLinks, PersonalDataKey, Invitations, MembersService],
    },
    async (context, orm) => {
      const organization = await findOrganization(orm, options.org);
      const input = await validated(AddMemberDto, {
        email: options.email,
        lastName: options.lastName,
        firstName: options.firstName,
        middleName: options.middleName,
        snils: options.snils,
        position: options.position,
        roles: (options.roles ?? 'admin').split(',').map((role) => role.trim()),
      });
      const member = await context.get(MembersService).add('cli', organization.id, input);
      out.result(
        [
          `invited ${member.email} to «${organization.name}» as ${member.roleNames.join(', ')}; the invitation is in the mail outbox`,
        ],
        {
          member: {
            id: member.id,
            organizationId: member.organizationId,
            email: member.email,
            roles: member.roles,
            status: member.status,
          },
        },
      );
    },
  );
}
