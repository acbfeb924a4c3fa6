import { type Constructor } from '@mikro-orm/core';
import { type Migration } from '@mikro-orm/migrations';
import { Migration20261124050657 } from './Migration20261124050657.js';
import { Migration20261124052110 } from './Migration20261124052110.js';
import { Migration20261124054726 } from './Migration20261124054726.js';
import { Migration20261124080648 } from './Migration20261124080648.js';
import { Migration20261124083000 } from './Migration20261124083000.js';
import { Migration20261124120000 } from './Migration20261124120000.js';
import { Migration20261124150000 } from './Migration20261124150000.js';
import { Migration20261202002314 } from './Migration20261202002314.js';
import { Migration20261202004759 } from './Migration20261202004759.js';
import { Migration20261202032715 } from './Migration20261202032715.js';
import { Migration20261202072153 } from './Migration20261202072153.js';
import { Migration20261202081406 } from './Migration20261202081406.js';
import { Migration20261202081544 } from './Migration20261202081544.js';
import { Migration20261202103342 } from './Migration20261202103342.js';
import { Migration20261202140117 } from './Migration20261202140117.js';
import { Migration20261202140018 } from './Migration20261202140018.js';
import { Migration20261202135901 } from './Migration20261202135901.js';
import { Migration20261202171500 } from './Migration20261202171500.js';
import { Migration20261202171901 } from './Migration20261202171901.js';
import { Migration20261202172000 } from './Migration20261202172000.js';
import { Migration20261202172100 } from './Migration20261202172100.js';

/**
 * Applied in this order. A new migration is generated with `npm run migration:create`, reviewed,
 * and added here. MikroORM knows an applied migration by its name only: a released migration's
 * code may be tidied, the SQL it sends never changes.
 */
export const MIGRATIONS: { name: string; class: Constructor<Migration> }[] = [
  // The identity model: users, password credentials, federated identities, sessions, audit events.
  { name: 'Migration20261124050657', class: Migration20261124050657 },
  // Госуслуги login transactions; sessions remember when the person last authenticated.
  { name: 'Migration20261124052110', class: Migration20261124052110 },
  // ПОС: organisations (tree, ЛКО numbers), memberships, invitations; platform operators; mail outbox.
  { name: 'Migration20261124054726', class: Migration20261124054726 },
  // Account link tokens: e-mail verification and password recovery.
  { name: 'Migration20261124080648', class: Migration20261124080648 },
  // Throttling counters shared by every instance (unlogged; not an entity).
  { name: 'Migration20261124083000', class: Migration20261124083000 },
  // Session and user changes are notified to every instance's session cache.
  { name: 'Migration20261124120000', class: Migration20261124120000 },
  // Linked identities are notified too: cached sessions carry them.
  { name: 'Migration20261124150000', class: Migration20261124150000 },
  // Sessions remember a Госуслуги round trip in their browser: «Выйти» logs out of the provider too.
  { name: 'Migration20261202002314', class: Migration20261202002314 },
  // Linked identities may keep the provider's refresh token, sealed (offline access).
  { name: 'Migration20261202004759', class: Migration20261202004759 },
  // Invitations name their person: SNILS digest, the ФИО at acceptance, refused attempts.
  { name: 'Migration20261202032715', class: Migration20261202032715 },
  // Mail attempts are recorded before sending (exactly-once delivery).
  { name: 'Migration20261202072153', class: Migration20261202072153 },
  // Password failures per (account, address): the hard lock is per pair, the account only slows.
  { name: 'Migration20261202081406', class: Migration20261202081406 },
  // When the e-mail was verified and how a session was last proved (older Госуслуги links may not move it).
  { name: 'Migration20261202081544', class: Migration20261202081544 },
  // The OpenID Provider: registered clients and oidc-provider's storage.
  { name: 'Migration20261202103342', class: Migration20261202103342 },
  // Consent to applications that are not first-party, remembered until revoked in «Приложения».
  { name: 'Migration20261202140117', class: Migration20261202140117 },
  // The OpenID Provider's sessions tied to ours (back-channel logout).
  { name: 'Migration20261202140018', class: Migration20261202140018 },
  // A second factor for staff: TOTP credentials, recovery codes, the pending login step.
  { name: 'Migration20261202135901', class: Migration20261202135901 },
  // «Виджет размещён»: the placement check's state per organisation.
  { name: 'Migration20261202171500', class: Migration20261202171500 },
  // An authority's published connection status (/public/status/<token>).
  { name: 'Migration20261202171901', class: Migration20261202171901 },
  // Member lists at scale: case-folded search and keyset sort orders per organisation.
  { name: 'Migration20261202172000', class: Migration20261202172000 },
  // Passkeys as a second factor: the keys and their single-use WebAuthn challenges.
  { name: 'Migration20261202172100', class: Migration20261202172100 },
];
