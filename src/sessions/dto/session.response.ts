import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { AuthMethod, type Session } from '../session.entity.js';

/** A live session as its owner (or their administrator) sees it: never the token or its hash. */
export class SessionResponse {
  @ApiProperty({
    format: 'uuid',
    description: 'Идентификатор сеанса (он же `sid` в access token); не даёт доступа',
  })
  id!: string;
  @ApiProperty({ enum: AuthMethod, description: 'Способ входа: pwd — пароль, gosuslugi' })
  method!: AuthMethod;
  @ApiProperty() createdAt!: string;
  @ApiProperty({ description: 'Последнее обращение (с точностью до минуты)' })
  lastSeenAt!: string;
  @ApiPropertyOptional({ nullable: true }) ip!: string | null;
  @ApiPropertyOptional({ nullable: true }) userAgent!: string | null;
  @ApiProperty({ description: 'Сеанс, из которого сделан запрос' })
  current!: boolean;

  static of(session: Session, currentId: string | null): SessionResponse {
    return {
      id: session.id,
      method: session.method,
      createdAt: session.createdAt.toISOString(),
      lastSeenAt: session.lastSeenAt.toISOString(),
      ip: session.ip,
      userAgent: session.userAgent,
      current: session.id === currentId,
    };
  }
}

export class EndedSessionsResponse {
  @ApiProperty({ description: 'Сколько сеансов завершено' })
  ended!: number;
}
