import { Module } from '@nestjs/common';
import { Csrf } from './csrf.js';
import { PageRenderer } from './page-renderer.js';

/**
 * Page rendering and form tokens, imported by every module with server-rendered pages (and so
 * with form posts: the form-token interceptor that @FormPost() binds is made from these). The
 * exception filter is the application's (AppModule).
 */
@Module({
  providers: [PageRenderer, Csrf],
  exports: [PageRenderer, Csrf],
})
export class RenderingModule {}
