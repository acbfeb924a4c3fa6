import type pg from 'pg';

export interface TreeShape {
  authorities: number;
  institutions: number;
  perOrganization: number;
}

/**
 * A large organisation tree under the organisation `root` (id and materialised path), made with
 * set-based SQL: `authorities` bodies, each with `institutions` institutions, and
 * `perOrganization` accounts in every organisation with statuses cycling invited → registered →
 * confirmed → archived (the first one an admin). Shared by the report test and the benchmark.
 */
export async function generateTree(
  client: pg.Client,
  root: { id: string; path: string },
  shape: TreeShape,
): Promise<void> {
  await client.query(
    `insert into pos_organizations (id, name, kind, parent_id, path, created_at)
     select g.id, 'Орган ' || g.n, 'authority', $1, $2 || g.id || '/', now()
       from (select gen_random_uuid() as id, n from generate_series(1, $3::int) n) g`,
    [root.id, root.path, shape.authorities],
  );
  await client.query(
    `insert into pos_organizations (id, name, kind, parent_id, path, created_at)
     select g.id, 'Учреждение ' || a.name || '.' || g.n, 'institution', a.id, a.path || g.id || '/', now()
       from pos_organizations a
       cross join lateral (select gen_random_uuid() as id, n from generate_series(1, $1::int) n) g
      where a.parent_id = $2`,
    [shape.institutions, root.id],
  );
  await client.query(
    `insert into pos_memberships (id, organization_id, email, last_name, first_name, roles, status, created_at, updated_at)
     select gen_random_uuid(), o.id, md5(o.id::text || n) || '@example.ru', 'Фамилия', 'Имя',
            case when n = 1 then array['admin'] else array['executor'] end,
            (array['invited', 'registered', 'confirmed', 'archived'])[1 + (n % 4)]::pos_membership_status,
            now(), now()
       from pos_organizations o cross join generate_series(1, $1::int) n
      where o.path like $2`,
    [shape.perOrganization, `${root.path}%`],
  );
  await client.query('analyze pos_organizations; analyze pos_memberships;');
}
