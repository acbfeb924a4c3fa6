import { UniqueConstraintViolationException } from '@mikro-orm/core';
import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
  Optional,
  ServiceUnavailableException,
} from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import {
  type HttpRequest,
  type HttpResponse,
  pathOf,
  preferredType,
  responseStarted,
  routeOf,
  seeOther,
  sendJson,
} from '../common/http.js';
import { isDatabaseUnavailable } from '../database/database-errors.js';
import { requestIdOf } from '../common/client-info.js';
import { decodedSegment } from '../common/logger.js';
import { type ErrorCode } from '../common/error-codes.js';
import { DomainError, Errors, type FieldErrors, PageRedirect } from '../common/errors.js';
import { PageRenderer } from './page-renderer.js';
import { PAGE_ERRORS } from './page.texts.js';

function isHealthReport(response: unknown): boolean {
  return (
    typeof response === 'object' &&
    response !== null &&
    'status' in response &&
    'details' in response
  );
}

/**
 * The throttler names its header per throttler (Retry-After-credentials), except its default one
 * (plain Retry-After: the general limit without a session); clients read Retry-After. Returns the
 * wait in seconds, if the throttler gave one.
 */
function setRetryAfter(response: HttpResponse): number | undefined {
  const waits = Object.entries(response.getHeaders())
    .filter(([name]) => name === 'retry-after' || name.startsWith('retry-after-'))
    .map(([, value]) => Number(value))
    .filter((value) => Number.isFinite(value));
  if (waits.length === 0) return undefined;
  const wait = Math.max(...waits);
  response.header('Retry-After', String(wait));
  return wait;
}

/**
 * What ioredis rejects a command with when Redis is away or too slow: its own messages, as it
 * gives these errors no codes (a lost connection, the command timeout, no offline queue, retries
 * spent).
 */
const REDIS_UNAVAILABLE =
  /^(Connection is closed\.|Command timed out|Stream isn't writeable|Reached the max retries per request limit)/;

/**
 * The Redis throttling store counts locally while Redis fails, so none of these should get here;
 * should one (Redis used somewhere new), it is a 503 like the database's, not a 500.
 */
function isRedisUnavailable(exception: unknown): boolean {
  for (let error = exception, depth = 0; error && depth < 4; depth += 1) {
    const { name, message } = error as { name?: unknown; message?: unknown };
    if (name === 'MaxRetriesPerRequestError') return true;
    if (typeof message === 'string' && REDIS_UNAVAILABLE.test(message)) return true;
    error = (error as { cause?: unknown }).cause;
  }
  return false;
}

/** Both ask the client to come back in a few seconds; neither is the client's fault. */
const UNAVAILABLE_MESSAGE = 'Сервис временно недоступен. Повторите попытку через несколько секунд.';
const UNAVAILABLE_CODES = new Set<ErrorCode>(['database_unavailable', 'throttle_unavailable']);

/** The first segments whose answers are never pages: the API and the machine endpoints. */
const MACHINE_PREFIXES = new Set(['api', '.well-known', 'health']);

/**
 * A person's browser navigating to a page (not the API, not a machine endpoint) gets a page. The
 * route decides where there is one; a request that reached none (a 404, or one the framework
 * refused) by its first segment as the router reads it: `/API/…` and `/%61pi/…` are the API.
 */
function wantsPage(request: HttpRequest): boolean {
  const first = (routeOf(request) ?? pathOf(request)).split('/')[1] ?? '';
  if (MACHINE_PREFIXES.has(decodedSegment(first).toLowerCase())) return false;
  return preferredType(request, ['json', 'html']) === 'html';
}

function errorPage(body: ErrorBody) {
  const known =
    body.statusCode === 404
      ? PAGE_ERRORS.notFound
      : body.statusCode === 429
        ? { ...PAGE_ERRORS.tooMany, paragraphs: [`${body.message}.`] }
        : body.statusCode >= 500
          ? PAGE_ERRORS.internal
          : body.statusCode === 403
            ? { ...PAGE_ERRORS.forbidden, paragraphs: [body.message] }
            : { title: 'Запрос не выполнен', paragraphs: [body.message] };
  return {
    title: known.title,
    paragraphs: known.paragraphs,
    code: body.code,
    requestId: body.requestId,
    links: [{ href: '/', text: 'На главную' }],
  };
}

export interface ErrorBody {
  statusCode: number;
  code: ErrorCode;
  message: string;
  errors?: FieldErrors;
  requestId?: string;
}

/**
 * The one way an error body leaves: a page for a person's browser, JSON for the rest. Also the
 * framework's own refusals, which come before any filter (httpAdapter in app.setup.ts).
 */
export function sendError(
  pages: PageRenderer | undefined,
  request: HttpRequest,
  response: HttpResponse,
  body: ErrorBody,
): void {
  if (pages && wantsPage(request))
    pages.send(response, body.statusCode, 'message', errorPage(body));
  else sendJson(response, body.statusCode, body);
}

const HTTP_CODES: Partial<Record<number, [ErrorCode, string]>> = {
  400: ['bad_request', 'Некорректный запрос'],
  401: ['unauthenticated', 'Требуется вход в систему'],
  403: ['forbidden', 'Недостаточно прав'],
  404: ['not_found', 'Не найдено'],
  405: ['method_not_allowed', 'Метод не поддерживается'],
  413: ['payload_too_large', 'Слишком большой запрос'],
  415: ['unsupported_media_type', 'Неподдерживаемый формат запроса'],
};

/**
 * The one error contract: `{ statusCode, code, message, errors? }`. 5xx bodies carry only the
 * request id; the cause goes to the log.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  constructor(@Optional() private readonly pages?: PageRenderer) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<HttpRequest>();
    const response = http.getResponse<HttpResponse>();
    if (exception instanceof PageRedirect) {
      if (!responseStarted(response)) seeOther(response, exception.location);
      return;
    }
    const body = this.toBody(exception);
    if (UNAVAILABLE_CODES.has(body.code)) {
      response.header('Retry-After', '5');
      if (body.code === 'database_unavailable')
        this.logger.warn({ requestId: requestIdOf(request) }, 'database unavailable');
      else
        this.logger.warn(
          { requestId: requestIdOf(request), reason: (exception as Error).message },
          'throttling store unavailable',
        );
    } else if (body.statusCode >= 500 && body.code !== 'not_ready') {
      body.requestId = requestIdOf(request) ?? undefined;
      this.logger.error({ err: exception, requestId: body.requestId }, 'request failed');
    }
    if (responseStarted(response)) return;
    if (exception instanceof DomainError && exception.retryAfterSeconds !== undefined)
      response.header('Retry-After', String(Math.ceil(exception.retryAfterSeconds)));
    if (exception instanceof ThrottlerException) {
      // The message says how long to wait, so the page and the JSON tell a person what the header
      // tells a program.
      const wait = setRetryAfter(response);
      if (wait !== undefined) body.message = Errors.tooManyRequests(wait).message;
    }
    sendError(this.pages, request, response, body);
  }

  private toBody(exception: unknown): ErrorBody {
    if (exception instanceof DomainError) {
      return {
        statusCode: exception.status,
        code: exception.code,
        message: exception.message,
        ...(exception.errors && { errors: exception.errors }),
      };
    }
    if (exception instanceof ThrottlerException) {
      const error = Errors.tooManyRequests();
      return { statusCode: error.status, code: error.code, message: error.message };
    }
    if (isRedisUnavailable(exception)) {
      return {
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        code: 'throttle_unavailable',
        message: UNAVAILABLE_MESSAGE,
      };
    }
    if (isDatabaseUnavailable(exception)) {
      return {
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        code: 'database_unavailable',
        message: UNAVAILABLE_MESSAGE,
      };
    }
    if (exception instanceof UniqueConstraintViolationException) {
      return {
        statusCode: HttpStatus.CONFLICT,
        code: 'conflict',
        message: 'Такая запись уже существует',
      };
    }
    if (
      exception instanceof ServiceUnavailableException &&
      isHealthReport(exception.getResponse())
    ) {
      // Readiness reports say which dependency is down; they hold no secrets.
      return {
        statusCode: 503,
        code: 'not_ready',
        message: 'Сервис не готов',
        ...(exception.getResponse() as object),
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const [code, message] =
        HTTP_CODES[status] ??
        (status < 500
          ? ['bad_request', 'Некорректный запрос']
          : ['internal_error', 'Внутренняя ошибка']);
      return { statusCode: status, code, message };
    }
    // body-parser errors carry a status and a type (entity.too.large, entity.parse.failed, ...).
    const parserError = exception as { status?: number; type?: string } | null;
    if (
      parserError &&
      typeof parserError.status === 'number' &&
      typeof parserError.type === 'string' &&
      parserError.status < 500
    ) {
      const status = parserError.status;
      const [code, message]: [ErrorCode, string] =
        parserError.type === 'entity.parse.failed'
          ? ['malformed_json', 'Некорректный JSON']
          : (HTTP_CODES[status] ?? ['bad_request', 'Некорректный запрос']);
      return { statusCode: status, code, message };
    }
    return {
      statusCode: HttpStatus.INTERNAL_SERVER_ERROR,
      code: 'internal_error',
      message: 'Внутренняя ошибка. Сообщите код запроса в поддержку.',
    };
  }
}
