import { Module } from '@nestjs/common';
import { SessionsModule } from '../sessions/sessions.module.js';
import { LoginController } from './login.controller.js';
import { PosPageController } from './pos-page.controller.js';

/** Server-rendered pages for people (Russian). */
@Module({ imports: [SessionsModule], controllers: [LoginController, PosPageController] })
export class PagesModule {}
