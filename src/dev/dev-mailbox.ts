import { MikroORM } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import express, { type Router } from 'express';
import { MailMessage } from '../mail/mail-message.entity.js';
import { PageRenderer } from '../rendering/page-renderer.js';

/**
 * «Почтовый ящик разработки»: without SMTP_URL (development only) the outbox keeps messages
 * instead of sending them; this page lists them, newest first, with their links.
 */
@Injectable()
export class DevMailbox {
  readonly router: Router = express.Router();

  constructor(
    private readonly orm: MikroORM,
    private readonly pages: PageRenderer,
  ) {
    this.router.get('/', (_req, res, next) => {
      this.orm.em
        .fork()
        .find(MailMessage, {}, { orderBy: { createdAt: 'desc' }, limit: 50 })
        .then((messages) => {
          res.setHeader('Cache-Control', 'no-store');
          res.type('html').send(
            this.pages.render('dev-mailbox', {
              messages: messages.map((message) => ({
                to: message.to,
                subject: message.subject,
                status: message.status,
                createdAt: message.createdAt.toLocaleString('ru-RU', { timeZone: 'Europe/Moscow' }),
                text: message.text,
                links: message.text.match(/https?:\/\/\S+/g) ?? [],
              })),
            }),
          );
        })
        .catch(next);
    });
  }
}
