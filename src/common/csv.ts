/**
 * One CSV cell that a spreadsheet shows as text, whichever separator it picks (`;` or `,`) and
 * whether or not it honours quotes: a cell with a separator, quote or line break is quoted, and a
 * formula character (OWASP's = + - @ TAB CR) is neutralised with `'` where a cell could start —
 * at the beginning and right after a separator inside the text.
 */
export function csvCell(value: string | number): string {
  const text = String(value);
  if (!/[;,"\n\r]|^[=+\-@\t\r]/.test(text)) return text;
  const inert = text.replace(/(^|[;,])([=+\-@\t\r])/g, "$1'$2");
  return `"${inert.replace(/"/g, '""')}"`;
}
