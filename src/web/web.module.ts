import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { Csrf } from './csrf.js';
import { FormTokenInterceptor } from './form-token.interceptor.js';
import { PageRenderer } from './page-renderer.js';

@Global()
@Module({
  providers: [PageRenderer, Csrf, { provide: APP_INTERCEPTOR, useClass: FormTokenInterceptor }],
  exports: [PageRenderer, Csrf],
})
export class WebModule {}
