import { describe, expect, it } from '@jest/globals';
import { hasWidget, widgetCode } from './widget-code.js';

const POS = 'https://pos.gosuslugi.ru';

describe('the widget code in ПОС format', () => {
  it('escapes the banner text: the code lands on other people’s sites', () => {
    const code = widgetCode(POS, '42', 'standard', '<img src=x onerror=alert(1)> & «да»');
    expect(code).toContain(
      "<span class='bf-1__text'>&lt;img src=x onerror=alert(1)&gt; &amp; «да»</span>",
    );
    expect(code).not.toContain('<img');
  });

  it('takes digits only as the ЛКО number', () => {
    expect(() => widgetCode(POS, '1); alert(1', 'standard', 'Текст')).toThrow();
  });

  it('is found in a page as pasted or reformatted, only with this ЛКО number and ПОС', () => {
    const code = widgetCode(POS, '1234', 'dark', 'Текст');
    expect(hasWidget(`<html><body>${code}</body></html>`, POS, '1234')).toBe(true);
    const reformatted = `<script src="${POS}/bin/script.min.js"></script>\n<script>\n  Widget( '${POS}/form' , 1234 )\n</script>`;
    expect(hasWidget(reformatted, POS, '1234')).toBe(true);
    expect(hasWidget(code, POS, '123')).toBe(false);
    expect(hasWidget(code, POS, '12345')).toBe(false);
    expect(hasWidget(code, 'https://pos.example.ru', '1234')).toBe(false);
    // The call without ПОС's script shows no banner: not placed.
    expect(hasWidget(`<script>Widget("${POS}/form", 1234)</script>`, POS, '1234')).toBe(false);
  });

  it('reads a hostile page of a megabyte in linear time: unclosed <script tags, the address repeated', () => {
    const started = Date.now();
    expect(hasWidget('<script '.repeat(131_072), POS, '1234')).toBe(false);
    expect(hasWidget(`<script src='${POS}/bin/script.min.js' `.repeat(20_000), POS, '1234')).toBe(
      false,
    );
    expect(hasWidget(`${POS}/bin/script.min.js`.repeat(25_000), POS, '1234')).toBe(false);
    // The old pattern (<script[^>]+src…) needed minutes for the first page; a linear scan needs
    // milliseconds. The bound is generous for a loaded machine.
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
