import { ApiProperty } from '@nestjs/swagger';
import { type AuthContext } from '../auth-context.js';
import { AuthMethod } from '../session.entity.js';

/**
 * Who is calling and until when: what a downstream app or a page needs to warn before the session
 * ends, answered from the authentication alone (no further reads).
 */
export class CurrentSessionResponse {
  @ApiProperty({ format: 'uuid' }) userId!: string;
  @ApiProperty() login!: string;
  @ApiProperty({ enum: AuthMethod, description: 'Способ входа: pwd — пароль, gosuslugi' })
  method!: AuthMethod;
  @ApiProperty({ enum: ['cookie', 'bearer'], description: 'Чем подтверждён этот запрос' })
  via!: 'cookie' | 'bearer';
  @ApiProperty({ description: 'Когда человек последний раз подтвердил, кто он' })
  authenticatedAt!: string;
  @ApiProperty({ description: 'Сеанс закончится, если не будет обращений до этого времени' })
  idleExpiresAt!: string;
  @ApiProperty({ description: 'Сеанс закончится в это время в любом случае' })
  absoluteExpiresAt!: string;

  static of({ facts, via }: AuthContext): CurrentSessionResponse {
    return {
      userId: facts.userId,
      login: facts.login,
      method: facts.method,
      via,
      authenticatedAt: facts.authenticatedAt.toISOString(),
      idleExpiresAt: facts.idleExpiresAt.toISOString(),
      absoluteExpiresAt: facts.absoluteExpiresAt.toISOString(),
    };
  }
}
