import { Injectable } from '@nestjs/common';
import { Eta } from 'eta';
import { fileURLToPath } from 'node:url';

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

/** Russian e-mail templates (src/mail/templates): a subject line, a text and an HTML body. */
@Injectable()
export class MailTemplates {
  private readonly eta = new Eta({
    views: fileURLToPath(new URL('./templates', import.meta.url)),
    autoEscape: true,
    cache: true,
  });

  render(name: string, data: object): RenderedMail {
    const text = this.eta.render(`${name}-text`, data);
    const [subjectLine, ...body] = text.split('\n');
    return {
      // One line whatever the data: a newline in a name must not move text into the body.
      subject: subjectLine
        .replace(/^Тема:\s*/, '')
        .replace(/\s+/g, ' ')
        .trim(),
      text: body.join('\n').trim() + '\n',
      html: this.eta.render(`${name}-html`, data),
    };
  }
}
