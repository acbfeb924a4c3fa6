import { type CanActivate, type ExecutionContext, Injectable, UseGuards } from '@nestjs/common';
import { type IncomingMessage, type ServerResponse } from 'node:http';
import {
  type HttpRequest,
  type HttpResponse,
  nodeRequest,
  nodeResponse,
} from '../../common/http.js';
import { ImportErrors } from './import.texts.js';
import { MAX_IMPORT_BYTES, XLSX_TYPE } from './member-file.js';

/** The API's import route takes the file itself as the body (JsonApiGuard lets these types in). */
export const IMPORT_BODY_TYPES = ['text/csv', XLSX_TYPE];

/** Node's request as the parsers below leave it: the body, and the multipart form's file. */
type ParsedRequest = IncomingMessage & { body?: unknown; file?: Express.Multer.File };

/** A body parser (body-parser's, multer's): they read Node's request, whatever framework serves. */
type BodyParser = (
  request: ParsedRequest,
  response: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/**
 * The two parsers, loaded on the first import rather than at start: body-parser and multer are
 * some 1.2 MiB of heap that most instances never use (docs/performance.md, «2026-12-05»).
 */
let parsers: Promise<{ raw: BodyParser; multipart: BodyParser }> | undefined;

function importParsers(): Promise<{ raw: BodyParser; multipart: BodyParser }> {
  parsers ??= Promise.all([import('body-parser'), import('multer')]).then(
    ([{ default: bodyParser }, { default: multer }]) => {
      const raw = bodyParser.raw({
        type: IMPORT_BODY_TYPES,
        limit: MAX_IMPORT_BYTES,
      }) as unknown as BodyParser;
      // The import page's forms are multipart (a file, or the checked file carried on to
      // «Импортировать» as a field): one file, a few short fields, the size limit, in memory only.
      const upload = multer({
        storage: multer.memoryStorage(),
        limits: {
          fileSize: MAX_IMPORT_BYTES,
          files: 1,
          fields: 8,
          // The checked file travels base64-encoded in a hidden field to «Импортировать».
          fieldSize: Math.ceil((MAX_IMPORT_BYTES * 4) / 3) + 16,
        },
      }).single('file') as unknown as BodyParser;
      return {
        // `POST /api/v1/pos/organizations/:id/members/import`: the file as a raw body,
        // size-limited; a larger one is refused as the page refuses it (422
        // `import_file_too_large`).
        raw: (request, response, next) => {
          raw(request, response, (error?: unknown) => {
            const type = (error as { type?: unknown } | undefined)?.type;
            next(type === 'entity.too.large' ? ImportErrors.tooLarge(MAX_IMPORT_BYTES) : error);
          });
        },
        multipart: (request, response, next) => {
          upload(request, response, (error: unknown) => {
            if (!error) return next();
            // A malformed or oversized form is the uploader's mistake (422 with a code), never
            // a 500.
            const code = error instanceof multer.MulterError ? error.code : undefined;
            next(
              code === 'LIMIT_FILE_SIZE' || code === 'LIMIT_FIELD_VALUE'
                ? ImportErrors.tooLarge(MAX_IMPORT_BYTES)
                : ImportErrors.unreadable(error),
            );
          });
        },
      };
    },
  );
  return parsers;
}

async function parse(kind: 'raw' | 'multipart', context: ExecutionContext): Promise<boolean> {
  const parser = (await importParsers())[kind];
  const http = context.switchToHttp();
  const request = http.getRequest<HttpRequest>();
  const node: ParsedRequest = nodeRequest(request);
  return new Promise((resolve, reject) => {
    parser(node, nodeResponse(http.getResponse<HttpResponse>()), (error?: unknown) => {
      // body-parser's errors (415, 413, a broken body) are Errors with a status; ours DomainErrors.
      if (error)
        reject(
          error instanceof Error
            ? error
            : new Error('the upload could not be read', { cause: error }),
        );
      else {
        // The parsers fill Node's request; the handler's @Body() reads Fastify's.
        request.body = node.body;
        resolve(true);
      }
    });
  });
}

/**
 * Reads the upload as a guard, after the guards before it: the global one (another origin, then
 * no session: 401, or the login page), the route's access guards (no administrator role: 403) and
 * the second-factor rule. Up to several megabytes per request are read into memory only for a
 * caller who may import; anyone else is answered from the headers alone, the body never read.
 * Place it above those guards (decorators apply bottom-up) and below any that reads the body.
 */
@Injectable()
export class RawImportBodyGuard implements CanActivate {
  canActivate(context: ExecutionContext): Promise<boolean> {
    return parse('raw', context);
  }
}

/** The page's multipart form, read as RawImportBodyGuard reads the API's file: last. */
@Injectable()
export class MultipartImportFormGuard implements CanActivate {
  canActivate(context: ExecutionContext): Promise<boolean> {
    return parse('multipart', context);
  }
}

/** The file the page's multipart form carried, once MultipartImportFormGuard has read it. */
export function uploadedFile(request: HttpRequest): Express.Multer.File | undefined {
  return (nodeRequest(request) as ParsedRequest).file;
}

/** «Импорт из файла» reads its upload only after the access checks: see RawImportBodyGuard. */
export function ImportUpload(kind: 'raw' | 'multipart') {
  return UseGuards(kind === 'raw' ? RawImportBodyGuard : MultipartImportFormGuard);
}
