import { type EntityMetadata } from '@mikro-orm/core';

/**
 * An entity's columns for a hand-written `select`, each named `alias.column`, so one joined row
 * can be split back into each entity's columns (`columnsOf`) and mapped with `em.map`. For the
 * hot paths (the session lookup, the password login) where building the query through the ORM
 * costs more than the database's own work.
 */
export function aliasedColumns(meta: EntityMetadata, alias: string): string[] {
  return meta.props
    .flatMap((prop) => prop.fieldNames ?? [])
    .map((field) => `${alias}."${field}" as "${alias}.${field}"`);
}

/** The column of an entity's property, quoted. */
export function columnOf(meta: EntityMetadata, property: string): string {
  return `"${meta.properties[property].fieldNames[0]}"`;
}

/** The columns of `alias` in a row selected with `aliasedColumns`, named as in the table. */
export function columnsOf(row: Record<string, unknown>, alias: string): Record<string, unknown> {
  const prefix = `${alias}.`;
  const columns: Record<string, unknown> = {};
  for (const [name, cell] of Object.entries(row))
    if (name.startsWith(prefix)) columns[name.slice(prefix.length)] = cell;
  return columns;
}
