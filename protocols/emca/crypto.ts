/**
 * emCA client secrets: AES-256 `requestData` encryption (ECB default, CBC/GCM with the IV in
 * front), scrypt password hashes compared in constant time, emKey derivation and hashing, and
 * IP/CIDR allow-lists. node:crypto does every primitive.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';

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

/** `::ffff:10.0.0.1` → `10.0.0.1`; strips an IPv6 zone; undefined when not an IP. */
export function normaliseIp(ip: string | undefined): string | undefined {
  if (!ip) return undefined;
  let s = ip.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(s);
  if (m) s = m[1];
  return isIP(s) ? s : undefined;
}

/** Validates an IP or CIDR entry; returns it normalised, or throws Error. */
export function parseCidr(entry: string): string {
  const s = entry.trim();
  const [addr, bits, ...rest] = s.split('/');
  const ip = normaliseIp(addr);
  if (!ip || rest.length) throw new Error(`"${entry}" is not an IP address or CIDR range`);
  const fam = isIP(ip);
  const max = fam === 4 ? 32 : 128;
  if (bits === undefined) return `${ip}/${max}`;
  if (!/^\d+$/.test(bits) || Number(bits) > max) throw new Error(`"${entry}": prefix length must be 0-${max}`);
  return `${ip}/${Number(bits)}`;
}

export function ipAllowed(ip: string | undefined, cidrs: string[]): boolean {
  const addr = normaliseIp(ip);
  if (!addr) return false;
  const list = new BlockList();
  for (const c of cidrs) {
    try {
      const [a, b] = parseCidr(c).split('/');
      list.addSubnet(a, Number(b), isIP(a) === 4 ? 'ipv4' : 'ipv6');
    } catch {
      /* a malformed stored entry matches nothing */
    }
  }
  return list.check(addr, isIP(addr) === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The caller's address: the TCP peer, or — only when the peer is a trusted proxy — the
 * right-most X-Forwarded-For entry that is not itself a trusted proxy.
 */
export function clientAddress(peer: string | undefined, xff: string | undefined, trustedProxies: string[]): string | undefined {
  const p = normaliseIp(peer);
  if (!p) return undefined;
  if (!xff || trustedProxies.length === 0 || !ipAllowed(p, trustedProxies)) return p;
  const hops = xff.split(',').map((h) => normaliseIp(h)).filter((h): h is string => !!h);
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!ipAllowed(hops[i], trustedProxies)) return hops[i];
  }
  return hops[0] ?? p;
}
