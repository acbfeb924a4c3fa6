import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppConfig } from '../config/app-config.js';

const DEVELOPMENT_KEY_FILE = 'personal-data.key';
const SEALED = /^v1\.([A-Za-z0-9_-]+)$/;

/**
 * The server key of personal data. Identifiers that must be matched but never kept (SNILS) become
 * HMAC-SHA256 digests: the same number always gives the same digest, and a database copy without
 * the key gives nothing back. Secrets that must be kept (a provider's refresh token) are sealed
 * with AES-256-GCM under a key derived from it, bound to what they belong to. PERSONAL_DATA_KEY
 * in production; in development a generated key under DATA_DIR, like the token signing key.
 */
@Injectable()
export class PersonalDataKey implements OnModuleInit {
  private readonly logger = new Logger('PersonalDataKey');
  private key: Buffer | null = null;

  constructor(private readonly config: AppConfig) {}

  async onModuleInit(): Promise<void> {
    // Production without PERSONAL_DATA_KEY reads no SNILS and keeps no tokens (config refuses
    // both), so nothing is generated there; a use would be a bug and throws.
    this.key =
      this.config.personalDataKey ??
      (this.config.isProduction ? null : await this.developmentKey());
  }

  /** Whether there is a key to seal with (production without PERSONAL_DATA_KEY has none). */
  get available(): boolean {
    return this.key !== null;
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

  /** One key per use, derived from the configured one, so a digest never helps against a seal. */
  private derived(use: 'seal' | 'snils'): Buffer {
    if (!this.key) throw new Error('PERSONAL_DATA_KEY is not configured');
    return Buffer.from(
      hkdfSync('sha256', this.key, Buffer.alloc(0), `identity-link ${use} v1`, 32),
    );
  }

  private sealingKey(): Buffer {
    return this.derived('seal');
  }

  /** `v1.` + base64url(iv ‖ ciphertext ‖ tag); `context` must be given again to open it. */
  seal(plain: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.sealingKey(), iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `v1.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
  }

  /** The sealed value, or null when it was sealed for another context, under another key or altered. */
  open(sealed: string, context: string): string | null {
    const match = SEALED.exec(sealed);
    const data = match ? Buffer.from(match[1], 'base64url') : Buffer.alloc(0);
    if (data.length < 12 + 16) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.sealingKey(), data.subarray(0, 12));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(data.subarray(data.length - 16));
      return Buffer.concat([
        decipher.update(data.subarray(12, data.length - 16)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      return null;
    }
  }

  /** The digest of a SNILS in any of its spellings (`000-000-001 01`, `00000000101`); null if it is not one. */
  snilsDigest(snils: string): string | null {
    const digits = snils.replace(/[\s-]/g, '');
    if (!/^\d{11}$/.test(digits)) return null;
    return createHmac('sha256', this.derived('snils')).update(digits, 'utf8').digest('hex');
  }
}
