import { applyDecorators } from '@nestjs/common';
import { ApiProperty, type ApiPropertyOptions } from '@nestjs/swagger';
import { IsObject, IsOptional, IsString, MaxLength } from 'class-validator';

/*
 * The two ways to answer a second-factor step, as every request that takes one has them. The
 * decorators are applied in the order they were written one under the other (innermost first),
 * so the checks and their messages come in the same order.
 */

/** `code`: one from the authenticator app or a recovery code. */
export const SecondFactorCode = (doc: Pick<ApiPropertyOptions, 'description' | 'example'>) =>
  applyDecorators(
    MaxLength(32),
    IsString(),
    IsOptional(),
    ApiProperty({ required: false, ...doc }),
  );

/** `assertion`: a passkey's answer (AuthenticationResponseJSON) instead of a code. */
export const PasskeyAssertion = (description: string) =>
  applyDecorators(
    IsObject(),
    IsOptional(),
    ApiProperty({ required: false, type: Object, description }),
  );
