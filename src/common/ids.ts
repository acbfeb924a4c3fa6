import { ParseUUIDPipe } from '@nestjs/common';
import { isUUID } from 'class-validator';

/** The `:id` of an address (API or page): a v4 uuid, as the service issues its ids (400 otherwise). */
export const ID = new ParseUUIDPipe({ version: '4' });

/** Whether an id a form posted or an address asked for is a v4 uuid, before it is looked up. */
export const isId = (value: string): boolean => isUUID(value, '4');
