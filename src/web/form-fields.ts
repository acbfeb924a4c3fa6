import { applyDecorators } from '@nestjs/common';
import { IsString, MaxLength } from 'class-validator';

/**
 * A password as typed into a form. The policy is the service's to check (with its own messages);
 * the length bound only keeps hashing a posted body cheap.
 */
export const PasswordInput = () => applyDecorators(MaxLength(1024), IsString());
