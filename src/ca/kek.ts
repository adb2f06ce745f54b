import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NoDataError } from '../data-dir.ts';
import { IssuanceError } from '../issuance/errors.ts';

/**
 * The key-encryption key that seals issuer private keys at rest. Given as CERTGATE_KEK (base64 or
 * hex, at least 32 bytes), or generated once into `<dataDir>/kek` with mode 0600 — unless `create` is
 * false (every command but `serve` and `init`), when a missing one is an error.
 */
export function loadKek(dataDir: string, configured?: string, opts: { create?: boolean } = {}): Buffer {
  if (configured) return decodeSecret(configured, 'CERTGATE_KEK');
  const file = join(dataDir, 'kek');
  if (existsSync(file)) return decodeSecret(readFileSync(file, 'utf8').trim(), file);
  if (opts.create === false) throw new NoDataError(`no key-encryption key: CERTGATE_KEK is not set and ${file} does not exist`, dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const kek = randomBytes(32);
  // 'wx' fails if another process created it first; then read theirs.
  try {
    writeFileSync(file, kek.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  } catch {
    return decodeSecret(readFileSync(file, 'utf8').trim(), file);
  }
  return kek;
}

function decodeSecret(text: string, where: string): Buffer {
  const buf = /^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0 ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (buf.length < 32) throw new IssuanceError('internal', `${where}: the key-encryption key must be at least 32 bytes (base64 or hex)`);
  return buf;
}
