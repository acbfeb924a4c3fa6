import { Global, Module } from '@nestjs/common';
import { IdentityLinks } from './identity-links.service.js';
import { PasswordHasher } from './password-hasher.service.js';

@Global()
@Module({ providers: [PasswordHasher, IdentityLinks], exports: [PasswordHasher, IdentityLinks] })
export class IdentityModule {}
