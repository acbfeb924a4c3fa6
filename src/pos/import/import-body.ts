import express, { type NextFunction, type Request, type Response } from 'express';
import multer from 'multer';
import { ImportErrors } from './import.texts.js';
import { MAX_IMPORT_BYTES, XLSX_TYPE } from './member-file.js';

/** The API's import route takes the file itself as the body (JsonApiGuard lets these types in). */
export const IMPORT_BODY_TYPES = ['text/csv', XLSX_TYPE];

/** `POST /api/v1/pos/organizations/:id/members/import`: the file as a raw body, size-limited. */
export const rawImportBody = express.raw({ type: IMPORT_BODY_TYPES, limit: MAX_IMPORT_BYTES });

/**
 * The import page's forms are multipart (a file, or the checked file carried on to «Импортировать»
 * as a field). Parsed before the guards, so the form-token check sees the `csrf` field; one file,
 * a few short fields, the size limit, in memory only. The same-origin and form-token checks refuse
 * a forged post before the handler looks at what was uploaded.
 */
const upload = multer({
  storage: multer.memoryStorage(),
  limits: {
    fileSize: MAX_IMPORT_BYTES,
    files: 1,
    fields: 8,
    // The checked file travels base64-encoded in a hidden field to «Импортировать».
    fieldSize: Math.ceil((MAX_IMPORT_BYTES * 4) / 3) + 16,
  },
}).single('file');

export function multipartImportForm(
  request: Request,
  response: Response,
  next: NextFunction,
): void {
  upload(request, response, (error: unknown) => {
    if (!error) return next();
    // A malformed or oversized form is the uploader's mistake (422 with a code), never a 500.
    const code = error instanceof multer.MulterError ? error.code : undefined;
    next(
      code === 'LIMIT_FILE_SIZE' || code === 'LIMIT_FIELD_VALUE'
        ? ImportErrors.tooLarge(MAX_IMPORT_BYTES)
        : ImportErrors.unreadable(error),
    );
  });
}
