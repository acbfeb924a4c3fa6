import { describe, expect, it } from '@jest/globals';
import { PageRenderer } from './page-renderer.js';

/** The text a person sees: the page without its tags and attributes. */
const visibleText = (html: string) => html.replace(/<[^>]*>/g, ' ');

describe('the message page', () => {
  it('shows people the Russian message and the request number, never the raw error code', () => {
    const html = new PageRenderer().render('message', {
      title: 'Ссылка не действует',
      paragraphs: ['Эта ссылка заменена более новой или адрес уже изменён.'],
      code: 'link_superseded',
      requestId: 'req-42',
    });
    expect(visibleText(html)).toContain('Эта ссылка заменена более новой');
    expect(visibleText(html)).toContain('req-42');
    expect(visibleText(html)).not.toContain('link_superseded');
    // Kept for support tools and tests, out of sight.
    expect(html).toContain('data-error-code="link_superseded"');
  });
});
