/**
 * The secret a backup archive is sealed under: a passphrase (stretched with scrypt) or a key file
 * (at least 32 random bytes, through HKDF). From either comes one 32-byte master key per archive
 * (the salt is the archive's), and from that the AES-256-GCM key and the key-check value.
 */
import { hkdfSync, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { BackupError } from './errors.ts';

const scrypt = promisify(scryptCb) as (pw: Buffer, salt: Buffer, len: number, opts: object) => Promise<Buffer>;

export type BackupSecret = { kind: 'passphrase'; passphrase: string } | { kind: 'key-file'; key: Buffer };

/** scrypt cost: 2^17 × r 8 = 128 MiB and ~0.3 s per derivation here; OWASP's floor is 2^17. */
export const SCRYPT = { N: 2 ** 17, r: 8, p: 1 };
export const MIN_PASSPHRASE = 12;

export type Kdf = { name: 'scrypt'; N: number; r: number; p: number; salt: string } | { name: 'hkdf-sha256'; salt: string };

export function newKdf(secret: BackupSecret): Kdf {
  const salt = randomBytes(32).toString('base64');
  return secret.kind === 'passphrase' ? { name: 'scrypt', ...SCRYPT, salt } : { name: 'hkdf-sha256', salt };
}

export interface ArchiveKeys {
  /** AES-256-GCM key of every chunk. */
  enc: Buffer;
  /** Stored in the header: tells a wrong passphrase from a damaged archive. */
  check: Buffer;
}

/** Derived keys per secret and KDF: a restore opens its archive twice (meta first) but pays scrypt once. */
const derived = new WeakMap<BackupSecret, Map<string, Promise<ArchiveKeys>>>();

export function deriveKeys(secret: BackupSecret, kdf: Kdf): Promise<ArchiveKeys> {
  let bySalt = derived.get(secret);
  if (!bySalt) derived.set(secret, (bySalt = new Map()));
  const id = JSON.stringify(kdf);
  let p = bySalt.get(id);
  if (!p) {
    p = derive(secret, kdf);
    p.catch(() => bySalt.delete(id));
    bySalt.set(id, p);
  }
  return p;
}

async function derive(secret: BackupSecret, kdf: Kdf): Promise<ArchiveKeys> {
  const salt = Buffer.from(kdf.salt, 'base64');
  let master: Buffer;
  if (kdf.name === 'scrypt') {
    if (secret.kind !== 'passphrase') throw new BackupError('this archive is sealed under a passphrase, not a key file: give --passphrase-file or CERTGATE_BACKUP_PASSPHRASE');
    // Bounded so that a forged header cannot make us allocate gigabytes.
    if (kdf.N > 2 ** 20 || kdf.r > 16 || kdf.p > 4) throw new BackupError('the archive header asks for scrypt parameters beyond what Certgate writes: not a Certgate archive');
    master = await scrypt(Buffer.from(secret.passphrase.normalize('NFC'), 'utf8'), salt, 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r + (1 << 20) });
  } else {
    if (secret.kind !== 'key-file') throw new BackupError('this archive is sealed under a key file, not a passphrase: give --key-file or CERTGATE_BACKUP_KEY_FILE');
    master = Buffer.from(hkdfSync('sha256', secret.key, salt, 'certgate-backup/v1/key-file', 32));
  }
  const sub = (info: string) => Buffer.from(hkdfSync('sha256', master, salt, info, 32));
  return { enc: sub('certgate-backup/v1/aes-256-gcm'), check: sub('certgate-backup/v1/key-check').subarray(0, 16) };
}

export function checkMatches(keys: ArchiveKeys, stored: Buffer): boolean {
  return stored.length === keys.check.length && timingSafeEqual(stored, keys.check);
}

/** A passphrase as typed, or a key file's bytes; refused when too weak to protect a CA's keys. */
export function passphraseSecret(passphrase: string): BackupSecret {
  const p = passphrase.replace(/\r?\n$/, '');
  if ([...p].length < MIN_PASSPHRASE) throw new BackupError(`the backup passphrase must be at least ${MIN_PASSPHRASE} characters`);
  return { kind: 'passphrase', passphrase: p };
}

export function keyFileSecret(file: string): BackupSecret {
  return keyBytesSecret(readFileSync(file), `the key file ${file}`);
}

/** A key file's content: base64 text (as `certgate backup keygen` writes) or raw bytes, at least 32 of them. */
export function keyBytesSecret(raw: Buffer, what = 'the backup key'): BackupSecret {
  const text = raw.toString('utf8').trim();
  const key = /^[A-Za-z0-9+/]{43,}={0,2}$/.test(text) ? Buffer.from(text, 'base64') : raw;
  if (key.length < 32) throw new BackupError(`${what} holds fewer than 32 bytes`);
  return { kind: 'key-file', key };
}

export interface SecretSources {
  passphraseFile?: string;
  keyFile?: string;
  passphrase?: string;
}

/** The first of: a key file, a passphrase file, a passphrase (CLI options first, then the CERTGATE_BACKUP_* settings). */
export function resolveSecret(...sources: SecretSources[]): BackupSecret | undefined {
  for (const o of sources) {
    if (o.keyFile) return keyFileSecret(o.keyFile);
    if (o.passphraseFile) return passphraseSecret(readFileSync(o.passphraseFile, 'utf8'));
    if (o.passphrase) return passphraseSecret(o.passphrase);
  }
  return undefined;
}

/** The configured backup secret (CERTGATE_BACKUP_KEY_FILE, …_PASSPHRASE_FILE, …_PASSPHRASE). */
export function configuredSecret(c: { backupKeyFile?: string; backupPassphraseFile?: string; backupPassphrase?: string }): BackupSecret | undefined {
  return resolveSecret({ keyFile: c.backupKeyFile, passphraseFile: c.backupPassphraseFile, passphrase: c.backupPassphrase });
}
