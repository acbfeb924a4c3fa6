import { readFile, writeFile } from 'node:fs/promises';
import { Organization } from '../pos/organization.entity.js';
import { type MembersImportOptions } from './members.command.js';
import { CliFailure, type CliOutput } from './output.js';
import { withContext } from './runtime.js';

/** `members:import`: the page's and the API's import (MemberImport), as the platform operator. */
export async function membersImport(options: MembersImportOptions, out: CliOutput): Promise<void> {
  let bytes: Buffer;
  try {
    bytes = await readFile(options.file);
  } catch (error) {
    throw new CliFailure(
      2,
      'file_unreadable',
      `файл ${options.file} не прочитан: ${(error as Error).message}`,
    );
  }
  const [
    { MemberImport },
    { MembersService },
    { Invitations },
    { PosAccess },
    { IdentityLinks },
    { PersonalDataKey },
    { importReportCsv },
  ] = await Promise.all([
    import('../pos/import/member-import.service.js'),
    import('../pos/members.service.js'),
    import('../pos/invitations.service.js'),
    import('../pos/pos-access.service.js'),
    import('../identity/identity-links.service.js'),
    import('../identity/personal-data-key.service.js'),
    import('../pos/import/import-report.js'),
  ]);
  await withContext(
    {
      migrate: options.migrate,
      mail: true,
      providers: [
        PosAccess,
        IdentityLinks,
        PersonalDataKey,
        Invitations,
        MembersService,
        MemberImport,
      ],
    },
    async (context, orm) => {
      const where = /^\d+$/.test(options.org) ? { lkoNumber: options.org } : { id: options.org };
      const organization = await orm.em.findOne(Organization, where);
      if (!organization)
        throw new CliFailure(2, 'organization_not_found', `нет организации ${options.org}`);
      const result = await context
        .get(MemberImport)
        .run('cli', organization.id, bytes, Boolean(options.dryRun));
      if (options.report) await writeFile(options.report, importReportCsv(result));
      const refused = result.rows.filter(
        (row) => row.outcome !== 'will_invite' && row.outcome !== 'invited',
      );
      out.result(
        [
          `${result.dryRun ? 'dry run (nothing written)' : 'imported'} into «${organization.name}»: ` +
            `${result.total} rows, ${result.invited} ${result.dryRun ? 'to invite' : 'invited'}, ${result.refused} refused`,
          ...refused.map(
            (row) => `  row ${row.row}: ${row.email || '—'} — ${row.outcome} (${row.message})`,
          ),
        ],
        result,
      );
    },
  );
}
