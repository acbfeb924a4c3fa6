import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The naming of injectable classes (docs/architecture.md, «Naming»): a class in `x-y.service.ts`
 * is `XY`, or `XYService` when the bare name is taken (one word, its folder's name, an entity's);
 * a class named `…Service` lives in such a file; guards and interceptors say so in their file and
 * class names.
 */
/**
 * Classes that break the rule. The list may only shrink: rename one (`Passkeys` →
 * `PasskeysService`, with its users) and remove it here.
 */
const KNOWN_MISNAMED = [
  'pos/invitations.service.ts Invitations: Invitations is taken: InvitationsService',
  'sessions/passkeys.service.ts Passkeys: Passkeys is taken: PasskeysService',
];

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');

const pascal = (kebab: string) =>
  kebab
    .split(/[-.]/)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');

interface Injectable {
  file: string;
  name: string;
  implementsList: string;
}

function sources(): { file: string; text: string }[] {
  return readdirSync(SRC, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts'))
    .map((e) => path.join(e.parentPath, e.name))
    .map((file) => ({ file: path.relative(SRC, file), text: readFileSync(file, 'utf8') }));
}

export function injectables(files: { file: string; text: string }[]): Injectable[] {
  const found: Injectable[] = [];
  const declaration =
    /@Injectable\([^)]*\)\s*(?:@\w+\([^)]*\)\s*)*export (?:abstract )?class (\w+)([^{]*)\{/g;
  for (const { file, text } of files)
    for (const match of text.matchAll(declaration))
      found.push({ file, name: match[1], implementsList: match[2] });
  return found;
}

/** What the rule says of one class, or null when it follows it. */
export function misnamed(
  { file, name, implementsList }: Injectable,
  entities: ReadonlySet<string>,
): string | null {
  const base = path.basename(file);
  if (base.endsWith('.guard.ts') || /\bCanActivate\b/.test(implementsList))
    return name.endsWith('Guard') ? null : 'a guard’s name ends in Guard';
  if (base.endsWith('.interceptor.ts') || /\bNestInterceptor\b/.test(implementsList))
    return name.endsWith('Interceptor') ? null : 'an interceptor’s name ends in Interceptor';
  if (!base.endsWith('.service.ts'))
    return name.endsWith('Service') ? 'a …Service lives in a .service.ts file' : null;
  const stem = base.slice(0, -'.service.ts'.length);
  const bare = pascal(stem);
  const folder = path.basename(path.dirname(file));
  const taken = !stem.includes('-') || stem === folder || entities.has(bare);
  if (name === bare) return taken ? `${bare} is taken: ${bare}Service` : null;
  if (name === `${bare}Service`) return taken ? null : `the name says enough: ${bare}`;
  return `named after its file: ${taken ? `${bare}Service` : bare}`;
}

describe('the names of injectable classes', () => {
  const files = sources();
  const entities = new Set(
    files
      .filter(({ file }) => file.endsWith('.entity.ts'))
      .flatMap(({ text }) => [...text.matchAll(/export class (\w+)/g)].map((m) => m[1])),
  );

  it('reads the rule as docs/architecture.md says it', () => {
    const check = (file: string, name: string, implementsList = ' ') =>
      misnamed({ file, name, implementsList }, new Set(['Session']));
    expect(check('accounts/email-verification.service.ts', 'EmailVerification')).toBeNull();
    expect(check('accounts/email-verification.service.ts', 'EmailVerificationService')).toBe(
      'the name says enough: EmailVerification',
    );
    expect(check('sessions/auth.service.ts', 'AuthService')).toBeNull();
    expect(check('sessions/auth.service.ts', 'Auth')).toBe('Auth is taken: AuthService');
    expect(check('sessions/session.service.ts', 'SessionService')).toBeNull();
    expect(
      check('pos/widget-placement/widget-placement.service.ts', 'WidgetPlacementService'),
    ).toBeNull();
    expect(check('mail/outbox.ts', 'OutboxService')).toBe('a …Service lives in a .service.ts file');
    expect(check('common/json-api.guard.ts', 'JsonApi')).toBe('a guard’s name ends in Guard');
    expect(check('pos/import/import-body.ts', 'RawImportBody', ' implements CanActivate ')).toBe(
      'a guard’s name ends in Guard',
    );
  });

  it('every @Injectable() class of src/ follows it', () => {
    const found = injectables(files);
    expect(found.length).toBeGreaterThan(60);
    const wrong = found.flatMap((injectable) => {
      const why = misnamed(injectable, entities);
      return why ? [`${injectable.file} ${injectable.name}: ${why}`] : [];
    });
    expect(wrong).toEqual(KNOWN_MISNAMED);
  });
});
