import { Module } from '@nestjs/common';
import { IdentityLinks } from './identity-links.service.js';
import { PasswordHasher } from './password-hasher.service.js';
import { PersonalDataKey } from './personal-data-key.service.js';

@Module({
  providers: [PasswordHasher, IdentityLinks, PersonalDataKey],
  exports: [PasswordHasher, IdentityLinks, PersonalDataKey],
})
export class IdentityModule {}
