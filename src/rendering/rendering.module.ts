import { Module } from '@nestjs/common';
import { Csrf } from './csrf.js';
import { PageRenderer } from './page-renderer.js';

/**
 * Page rendering and form tokens, imported by every module with server-rendered pages. The
 * form-token interceptor and the exception filter are the application's (AppModule).
 */
@Module({
  providers: [PageRenderer, Csrf],
  exports: [PageRenderer, Csrf],
})
export class RenderingModule {}
