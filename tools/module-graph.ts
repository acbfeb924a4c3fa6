/**
 * The folder graph of `src/`: which feature folder imports which, read from the import statements
 * (type-only imports included, as dependency-cruiser counts them), its cycles, and the imports
 * that point against the layer order of docs/architecture.md.
 *
 *   npx tsx tools/module-graph.ts          prints the graph, cycles and violations
 *   npx tsx tools/module-graph.ts --write  regenerates the diagram in docs/architecture.md
 *
 * tools/module-graph.spec.ts holds the rules to the code: a new cycle or a new import against the
 * order fails it.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import ts from 'typescript';

/** One folder's imports of another folder, with the files that make them. */
export interface FolderEdge {
  from: string;
  to: string;
  files: string[];
}

/**
 * The layer order: a folder may import only folders of a lower rank. `config` and `common` are the
 * base; `audit` and `mail` are leaves that features write to; `rendering` (pages, form tokens,
 * the exception filter) sits below every feature that renders a page; the web layer, the
 * development stand-ins and the command line sit on top. Files directly in `src/` (main.ts, app.module.ts…)
 * compose everything and are not ranked.
 */
export const LAYERS: Readonly<Record<string, number>> = {
  config: 0,
  common: 1,
  database: 2,
  throttling: 2,
  audit: 2,
  identity: 3,
  mail: 4,
  sessions: 5,
  accounts: 6,
  rendering: 7,
  gosuslugi: 8,
  pos: 9,
  provider: 10,
  web: 11,
  dev: 12,
  cli: 12,
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(file);
    return file.endsWith('.ts') && !file.endsWith('.spec.ts') ? [file] : [];
  });
}

/** The folder of a path under `src/`, or undefined for a file directly in it. */
function folderOf(srcDir: string, file: string): string | undefined {
  const parts = path.relative(srcDir, file).split(path.sep);
  return parts.length > 1 ? parts[0] : undefined;
}

/** Every import of one folder by another, from the relative import specifiers of `src/`. */
export function folderEdges(srcDir: string): FolderEdge[] {
  const edges = new Map<string, FolderEdge>();
  for (const file of sourceFiles(srcDir)) {
    const from = folderOf(srcDir, file);
    if (!from) continue;
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const to = folderOf(srcDir, path.resolve(path.dirname(file), fileName));
      if (!to || to === from) continue;
      const key = `${from}->${to}`;
      const edge = edges.get(key) ?? { from, to, files: [] };
      const relative = path.relative(path.dirname(srcDir), file).split(path.sep).join('/');
      if (!edge.files.includes(relative)) edge.files.push(relative);
      edges.set(key, edge);
    }
  }
  return [...edges.values()].sort((a, b) => `${a.from}>${a.to}`.localeCompare(`${b.from}>${b.to}`));
}

/** The strongly connected components of more than one folder (Tarjan), each sorted. */
export function cycles(edges: readonly Pick<FolderEdge, 'from' | 'to'>[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) {
    next.set(from, [...(next.get(from) ?? []), to]);
    if (!next.has(to)) next.set(to, []);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const target of next.get(node)!) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1) found.push(component.sort());
  };
  for (const node of [...next.keys()].sort()) if (!index.has(node)) visit(node);
  return found.sort((a, b) => a[0].localeCompare(b[0]));
}

/**
 * Imports against the layer order (`from` -> `to` where `to` does not rank below `from`), and
 * folders that have no rank yet, as `from -> to` strings.
 */
export function layerViolations(
  edges: readonly Pick<FolderEdge, 'from' | 'to'>[],
  layers: Readonly<Record<string, number>> = LAYERS,
): string[] {
  return edges
    .filter(({ from, to }) => !(layers[from] > layers[to]))
    .map(({ from, to }) => `${from} -> ${to}`);
}

/** A Mermaid diagram of the graph: allowed imports plain, those against the order dashed. */
export function mermaid(edges: readonly FolderEdge[]): string {
  const lines = ['```mermaid', 'flowchart BT'];
  for (const { from, to, files } of edges) {
    const against = !(LAYERS[from] > LAYERS[to]);
    lines.push(`  ${from} ${against ? '-.->' : '-->'}|${files.length}| ${to}`);
  }
  lines.push('```');
  return lines.join('\n');
}

type Listed = readonly { file: string; what: string }[];

/**
 * The auth core as issue 16 defines it (session rules, cookies, secrets, guards, token service,
 * identity links, account lock, lockout, the Госуслуги flows without the ЕСИА crypto), in the
 * order a reviewer reads it: the rules first, then the guards that apply them, then the flows.
 * The ЕСИА crypto (gosuslugi/esia/) is reviewed on its own and not counted.
 */
export const AUTH_CORE: Listed = [
  {
    file: 'src/sessions/session-rules.ts',
    what: 'when a session is usable, recently authenticated, cookie only',
  },
  { file: 'src/sessions/session-ending.ts', what: 'why a session ends; ending one' },
  { file: 'src/sessions/lockout.ts', what: 'lockout arithmetic per account and per address' },
  {
    file: 'src/common/secrets.ts',
    what: '256-bit secrets, stored as SHA-256, compared in constant time',
  },
  { file: 'src/sessions/cookies.ts', what: 'cookie names, flags, reading and writing' },
  { file: 'src/common/auth-decorators.ts', what: 'public / page / authenticated, form posts' },
  { file: 'src/sessions/auth-context.ts', what: 'the authenticated caller, stale forms' },
  { file: 'src/sessions/auth.guard.ts', what: 'the deny-by-default guard' },
  { file: 'src/sessions/same-origin.ts', what: 'the Origin check of cookie requests' },
  { file: 'src/rendering/csrf.ts', what: 'form tokens' },
  { file: 'src/rendering/form-token.interceptor.ts', what: 'form tokens checked before a handler' },
  { file: 'src/sessions/token-claims.ts', what: 'what an access token says' },
  { file: 'src/sessions/token.service.ts', what: 'signing keys, rotation, verification' },
  { file: 'src/identity/identity-links.service.ts', what: 'Госуслуги identities linked to users' },
  { file: 'src/identity/account-lock.ts', what: 'the per-account row lock of multi-step writes' },
  { file: 'src/sessions/session-lock.ts', what: 'the same lock for a session still live' },
  {
    file: 'src/gosuslugi/login-transactions.service.ts',
    what: 'state, nonce, PKCE, browser binding',
  },
  { file: 'src/gosuslugi/callback-outcome.ts', what: 'what a Госуслуги return comes to, refusals' },
  {
    file: 'src/gosuslugi/gosuslugi.service.ts',
    what: 'the shared round trip: callback routed, provider logout',
  },
  { file: 'src/gosuslugi/gosuslugi-login.service.ts', what: 'login through a linked identity' },
  {
    file: 'src/gosuslugi/gosuslugi-links.service.ts',
    what: 'link started, offered, confirmed; unlink',
  },
  {
    file: 'src/gosuslugi/gosuslugi-invitations.service.ts',
    what: 'invitation accepted through the port',
  },
  { file: 'src/gosuslugi/gosuslugi-refresh.service.ts', what: 'the linked data read again' },
  { file: 'src/gosuslugi/gosuslugi.controller.ts', what: 'the Госуслуги routes' },
];

/**
 * What the core calls and a reviewer reads next: the session store and its cache, the password
 * login and its checks, the password rules and the hasher. Counted apart, not hidden.
 */
export const AUTH_MACHINERY: Listed = [
  { file: 'src/sessions/session.service.ts', what: 'who is calling; session creation' },
  { file: 'src/sessions/session-store.ts', what: 'the session lookup: SQL, rows, entities' },
  { file: 'src/sessions/session-cache.ts', what: 'the per-instance session cache' },
  {
    file: 'src/sessions/auth-change-listener.ts',
    what: "the cache's LISTEN connection and heartbeat",
  },
  { file: 'src/sessions/session-management.service.ts', what: '«Сеансы»: list and end sessions' },
  {
    file: 'src/sessions/password-checks.service.ts',
    what: 'password verification, lockout bookkeeping',
  },
  { file: 'src/sessions/login-queries.service.ts', what: 'the password login in SQL' },
  {
    file: 'src/sessions/login-sessions.service.ts',
    what: 'sessions opened at login, re-authentication, logout',
  },
  { file: 'src/sessions/password-login.service.ts', what: 'password login, second factor due' },
  { file: 'src/throttling/credential-throttle.ts', what: 'credential attempt limits' },
  { file: 'src/identity/password-hasher.service.ts', what: 'argon2id and the dummy verification' },
  { file: 'src/accounts/password-policy.ts', what: 'the regional password rules' },
];

/** Files with their line counts and the total, as a Markdown table. */
export function linesTable(root: string, files: Listed = AUTH_CORE): string {
  const rows = files.map(({ file, what }) => ({
    file,
    what,
    lines: readFileSync(path.join(root, file), 'utf8').split('\n').length - 1,
  }));
  const total = rows.reduce((sum, row) => sum + row.lines, 0);
  return [
    '| # | file | what it holds | lines |',
    '| --- | --- | --- | ---: |',
    ...rows.map((row, i) => `| ${i + 1} | \`${row.file}\` | ${row.what} | ${row.lines} |`),
    `| | **total** | | **${total}** |`,
  ].join('\n');
}

/** The document with its generated block `name` replaced by `content`. */
export function withBlock(document: string, name: string, content: string): string {
  const begin = `<!-- ${name}:begin (npx tsx tools/module-graph.ts --write) -->`;
  const end = `<!-- ${name}:end -->`;
  const start = document.indexOf(begin);
  const stop = document.indexOf(end);
  if (start < 0 || stop < start) throw new Error(`docs/architecture.md has no ${name} block`);
  return `${document.slice(0, start + begin.length)}\n${content}\n${document.slice(stop)}`;
}

/** docs/architecture.md with its generated blocks as the code has them now, as Prettier lays it out. */
export async function generatedDocument(document: string, root: string): Promise<string> {
  const graph = withBlock(document, 'module-graph', mermaid(folderEdges(path.join(root, 'src'))));
  const file = path.join(root, 'docs', 'architecture.md');
  const options = await resolveConfig(file);
  const core = withBlock(graph, 'auth-core', linesTable(root, AUTH_CORE));
  const machinery = withBlock(core, 'auth-machinery', linesTable(root, AUTH_MACHINERY));
  return format(machinery, { ...options, filepath: file });
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT_DIR = root;
export const SRC_DIR = path.join(root, 'src');
export const ARCHITECTURE_DOC = path.join(root, 'docs', 'architecture.md');

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const edges = folderEdges(SRC_DIR);
  if (process.argv.includes('--write')) {
    const document = readFileSync(ARCHITECTURE_DOC, 'utf8');
    writeFileSync(ARCHITECTURE_DOC, await generatedDocument(document, root));
  } else {
    for (const { from, to, files } of edges) console.log(`${from} -> ${to} (${files.length})`);
    console.log('\ncycles:', JSON.stringify(cycles(edges)));
    console.log('against the order:', JSON.stringify(layerViolations(edges), null, 1));
  }
}
