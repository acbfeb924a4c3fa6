import { ParseUUIDPipe } from '@nestjs/common';

/** The `:id` of an API address: a v4 uuid, as the service issues its ids (400 otherwise). */
export const ID = new ParseUUIDPipe({ version: '4' });
