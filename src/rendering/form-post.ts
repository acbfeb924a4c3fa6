import { applyDecorators, UseInterceptors } from '@nestjs/common';
import { FormPostMark } from '../common/auth-decorators.js';
import { FormTokenInterceptor } from './form-token.interceptor.js';

/**
 * A server-rendered form post: marked for the guard's Origin check (FormPostMark), and its form
 * token checked by FormTokenInterceptor, bound here to the form posts alone. A global interceptor
 * would put every other request (the API, pages, probes) through Nest's rxjs pipeline for a check
 * that passes them on: some 10 µs of a no-op request's CPU (2026-12-04).
 */
export const FormPost = () =>
  applyDecorators(FormPostMark(), UseInterceptors(FormTokenInterceptor));
