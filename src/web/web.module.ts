import { Global, Module } from '@nestjs/common';
import { Csrf } from './csrf.js';
import { PageRenderer } from './page-renderer.js';

@Global()
@Module({ providers: [PageRenderer, Csrf], exports: [PageRenderer, Csrf] })
export class WebModule {}
