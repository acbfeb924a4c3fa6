import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppConfig } from '../config/app-config.js';

const DEVELOPMENT_KEY_FILE = 'personal-data.key';

/**
 * Personal identifiers that must be matched but never kept (SNILS) become HMAC-SHA256 digests
 * under a server key: the same number always gives the same digest, and a database copy without
 * the key gives nothing back. PERSONAL_DATA_KEY in production; in development a generated key
 * under DATA_DIR, like the token signing key.
 */
@Injectable()
export class PersonalDataKey implements OnModuleInit {
  private readonly logger = new Logger('PersonalDataKey');
  private key: Buffer | null = null;

  constructor(private readonly config: AppConfig) {}

  async onModuleInit(): Promise<void> {
    this.key = this.config.personalDataKey ?? (await this.developmentKey());
  }

  private async developmentKey(): Promise<Buffer> {
    const file = join(this.config.dataDir, DEVELOPMENT_KEY_FILE);
    if (existsSync(file)) return Buffer.from((await readFile(file, 'utf8')).trim(), 'hex');
    const key = randomBytes(32);
    await mkdir(this.config.dataDir, { recursive: true });
    await writeFile(file, `${key.toString('hex')}\n`, { mode: 0o600 });
    this.logger.warn(`generated a development personal data key in ${file}`);
    return key;
  }

  /** The digest of a SNILS in any of its spellings (`000-000-001 01`, `00000000101`); null if it is not one. */
  snilsDigest(snils: string): string | null {
    const digits = snils.replace(/[\s-]/g, '');
    if (!/^\d{11}$/.test(digits)) return null;
    if (!this.key) throw new Error('PersonalDataKey used before the module was initialised');
    return createHmac('sha256', this.key).update(`snils:${digits}`, 'utf8').digest('hex');
  }
}
