/**
 * emCA client secrets: AES-256 `requestData` encryption (ECB default, CBC/GCM with the IV in
 * front), scrypt password hashes compared in constant time, emKey derivation and hashing, and
 * IP/CIDR allow-lists. node:crypto does every primitive.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export type AesMode = 'ECB' | 'CBC' | 'GCM';
export const aesModes: AesMode[] = ['ECB', 'CBC', 'GCM'];

/** Encrypts the inner JSON as a client would (used by tests, the bench and the conformance notes). */
export function encryptRequestData(key: Uint8Array, mode: AesMode, plaintext: string | Uint8Array): string {
  const pt = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : Buffer.from(plaintext);
  if (mode === 'ECB') {
    const c = createCipheriv('aes-256-ecb', key, null);
    return Buffer.concat([c.update(pt), c.final()]).toString('base64');
  }
  if (mode === 'CBC') {
    const iv = randomBytes(16);
    const c = createCipheriv('aes-256-cbc', key, iv);
    return Buffer.concat([iv, c.update(pt), c.final()]).toString('base64');
  }
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([c.update(pt), c.final()]);
  return Buffer.concat([iv, ct, c.getAuthTag()]).toString('base64');
}

/** Decrypts `requestData`; undefined on any failure (bad base64, wrong key, bad padding or tag). */
export function decryptRequestData(key: Uint8Array, mode: AesMode, b64: string): Buffer | undefined {
  const clean = b64.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0) return undefined;
  const data = Buffer.from(clean, 'base64');
  try {
    if (mode === 'ECB') {
      if (data.length === 0 || data.length % 16 !== 0) return undefined;
      const d = createDecipheriv('aes-256-ecb', key, null);
      return Buffer.concat([d.update(data), d.final()]);
    }
    if (mode === 'CBC') {
      if (data.length < 32 || data.length % 16 !== 0) return undefined;
      const d = createDecipheriv('aes-256-cbc', key, data.subarray(0, 16));
      return Buffer.concat([d.update(data.subarray(16)), d.final()]);
    }
    if (data.length < 12 + 16) return undefined;
    const d = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
    d.setAuthTag(data.subarray(data.length - 16));
    return Buffer.concat([d.update(data.subarray(12, data.length - 16)), d.final()]);
  } catch {
    return undefined;
  }
}

// ── passwords ────────────────────────────────────────────────────────────────

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };

function scryptAsync(password: string, salt: Buffer, N: number, r: number, p: number, keylen: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, keylen, { N, r, p, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** `scrypt$N$r$p$salt$hash` (base64 salt and hash). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const h = await scryptAsync(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p, SCRYPT.keylen);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${h.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, saltB64, hashB64] = parts;
  const expected = Buffer.from(hashB64, 'base64');
  const got = await scryptAsync(password, Buffer.from(saltB64, 'base64'), Number(n), Number(r), Number(p), expected.length);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/**
 * Successful scrypt checks are remembered (per client and stored hash) as a SHA-256 of the
 * password, compared in constant time: scrypt on every call would cap a client at a few dozen
 * requests per second. A changed password (rotate) changes the stored hash and so misses.
 */
export class PasswordCache {
  private readonly map = new Map<string, Buffer>();
  constructor(private readonly max = 10_000) {}

  async verify(clientId: string, stored: string, password: string): Promise<boolean> {
    const k = `${clientId}\0${stored}`;
    const digest = createHash('sha256').update(stored).update('\0').update(password).digest();
    const hit = this.map.get(k);
    if (hit) return timingSafeEqual(hit, digest);
    const ok = await verifyPassword(password, stored);
    if (ok) {
      if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value!);
      this.map.set(k, digest);
    }
    return ok;
  }
}

// ── emKey ────────────────────────────────────────────────────────────────────

/** Default emKey for keys Certgate issues: lower-case hex SHA-1 of UTF-8 (userName + password). */
export function deriveEmKey(userName: string, password: string): string {
  return createHash('sha1').update(userName + password, 'utf8').digest('hex');
}

export function hashEmKey(emKey: string): string {
  return createHash('sha256').update(emKey.trim().toLowerCase(), 'utf8').digest('hex');
}

export function emKeyMatches(given: string | undefined, storedHash: string): boolean {
  const a = Buffer.from(hashEmKey(given ?? ''), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b) && !!given;
}

// ── IP allow-lists ───────────────────────────────────────────────────────────

// One implementation for every protocol (src/http/client-address.ts).
export { normaliseIp, parseCidr, ipInRanges as ipAllowed } from '../../src/http/client-address.ts';
