import {
  type EntityDictionary,
  type EntityMetadata,
  type EntityName,
  type Primary,
  wrap,
} from '@mikro-orm/core';
import { type EntityManager } from '@mikro-orm/postgresql';

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

/**
 * The entity of `columns` (a row's columns for one entity, keyed by `id`) as a managed entity of
 * `em`: one the unit of work already holds is kept as it is (with any change not yet flushed),
 * not overwritten by the row; an uninitialised reference is replaced by the row's data.
 */
export function mappedOnce<T extends object>(
  em: EntityManager,
  entity: EntityName<T>,
  columns: Record<string, unknown>,
): T {
  const held = em.getUnitOfWork().getById<T>(entity, columns.id as Primary<T>);
  return held && wrap(held).isInitialized() ? held : em.map(entity, columns as EntityDictionary<T>);
}
