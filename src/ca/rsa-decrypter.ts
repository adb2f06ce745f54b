/**
 * RSA decryption for key transport (SCEP and CMP envelopes) without a padding oracle.
 *
 * Node 20 refuses RSA_PKCS1_PADDING private decryption (CVE-2023-46809), so PKCS#1 v1.5 goes
 * through RSA_NO_PADDING and the padding is checked here, in constant time, with IMPLICIT
 * REJECTION as in draft-irtf-cfrg-rsa-guidance §7 (and OpenSSL 3.2): a malformed block yields a
 * pseudo-random message derived from the ciphertext and a per-key secret, never an error, so a
 * caller cannot tell bad padding from a wrong key (Bleichenbacher, Marvin). The wrong key then
 * fails later as a content padding or MAC error, the same as any other corruption.
 *
 * "Constant time" in JavaScript is best effort: no branch, early return or table look-up depends
 * on a decrypted byte; choices are made with 32-bit masks.
 */
import { constants, createHash, createHmac, privateDecrypt, createPublicKey, type KeyObject } from 'node:crypto';
import type { Decrypter, RsaScheme } from '../protocol-context.ts';
import { IssuanceError } from '../issuance/errors.ts';

export class SoftwareRsaDecrypter implements Decrypter {
  readonly publicKey: KeyObject;
  /** Modulus length in octets (k). */
  private readonly k: number;
  /** SHA-256(I2OSP(d, k)): the per-key secret keying the implicit-rejection KDF. */
  private readonly dHash: Buffer;

  constructor(private readonly privateKey: KeyObject) {
    if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'rsa') throw new IssuanceError('internal', 'SoftwareRsaDecrypter needs an RSA private key');
    this.publicKey = createPublicKey(privateKey);
    this.k = Math.ceil((privateKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
    const d = Buffer.from(String(privateKey.export({ format: 'jwk' }).d), 'base64url');
    this.dHash = createHash('sha256').update(leftPad(d, this.k)).digest();
  }

  async decrypt(ciphertext: Uint8Array, scheme: RsaScheme, expectedLength?: number): Promise<Buffer> {
    if (expectedLength !== undefined && !(Number.isInteger(expectedLength) && expectedLength >= 0 && expectedLength <= this.k - 11)) {
      throw new RangeError(`expectedLength must be 0..${this.k - 11}`);
    }
    const c = Buffer.from(ciphertext);
    return scheme.kind === 'oaep' ? this.oaep(c, scheme.hash, expectedLength) : this.pkcs1(c, expectedLength);
  }

  private pkcs1(c: Buffer, expectedLength?: number): Buffer {
    const alt = alternative(this.dHash, c, this.k);
    let em: Buffer;
    try {
      // Only the ciphertext (public) decides whether this throws: wrong length or not below n.
      em = c.length === this.k ? privateDecrypt({ key: this.privateKey, padding: constants.RSA_NO_PADDING }, c) : Buffer.alloc(this.k);
    } catch {
      em = Buffer.alloc(this.k);
    }
    return unpadPkcs1(em, alt.message, expectedLength ?? alt.length, expectedLength !== undefined);
  }

  private oaep(c: Buffer, hash: string, expectedLength?: number): Buffer {
    // OpenSSL checks OAEP in constant time and fails with one error; we answer that failure with
    // the same kind of pseudo-random output so callers have one failure path for both schemes.
    const alt = alternative(this.dHash, c, this.k);
    const fallback = Buffer.from(alt.message.subarray(this.k - (expectedLength ?? alt.length)));
    let m: Buffer;
    try {
      m = privateDecrypt({ key: this.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, c);
    } catch {
      return fallback;
    }
    return expectedLength === undefined || m.length === expectedLength ? m : fallback;
  }
}

export function leftPad(b: Buffer, k: number): Buffer {
  return b.length >= k ? b : Buffer.concat([Buffer.alloc(k - b.length), b]);
}

// ── the implicit-rejection KDF (draft-irtf-cfrg-rsa-guidance §7.1) ──────────────────────────

/** IRPRF: HMAC-SHA256(key, I2OSP(i, 2) || label || I2OSP(bits, 2)) for i = 0, 1, … truncated. */
function prf(key: Buffer, label: string, length: number): Buffer {
  const bits = Buffer.alloc(2);
  bits.writeUInt16BE(length * 8);
  const out: Buffer[] = [];
  for (let i = 0, have = 0; have < length; i++, have += 32) {
    const counter = Buffer.alloc(2);
    counter.writeUInt16BE(i);
    out.push(createHmac('sha256', key).update(counter).update(label, 'latin1').update(bits).digest());
  }
  return Buffer.concat(out).subarray(0, length);
}

/**
 * The alternative message for this ciphertext: k pseudo-random octets (the result is their last
 * `length` octets) and a pseudo-random length below k - 10, chosen from 128 candidates in
 * constant time.
 */
export function alternative(dHash: Buffer, c: Buffer, k: number): { message: Buffer; length: number } {
  const kdk = createHmac('sha256', dHash).update(c).digest();
  const candidates = prf(kdk, 'length', 256);
  const message = prf(kdk, 'message', k);
  const max = k - 2 - 8;
  let mask = max;
  for (let s = 1; s < 32; s <<= 1) mask |= mask >>> s;
  let length = 0;
  for (let i = 0; i < 256; i += 2) {
    const l = ((candidates[i] << 8) | candidates[i + 1]) & mask;
    length = select(lessThan(l, max), l, length);
  }
  return { message, length };
}

// ── constant-time EME-PKCS1-v1_5 decoding (RFC 8017 §7.2.2 step 3) ───────────────────────────

/** -1 when x === 0, else 0 (x in [0, 2^31)). */
const isZero = (x: number): number => ~(x | -x) >> 31;
const equal = (a: number, b: number): number => isZero(a ^ b);
/** -1 when a < b, else 0 (a, b in [0, 2^30)). */
const lessThan = (a: number, b: number): number => (a - b) >> 31;
const select = (mask: number, a: number, b: number): number => (a & mask) | (b & ~mask);

/**
 * Returns the message of a well-formed EM = 0x00 || 0x02 || PS (≥ 8 non-zero) || 0x00 || M, or
 * the last `altLength` octets of `altMessage` when EM is malformed (or, with `fixedLength`, when M
 * is not exactly `altLength` octets long). No branch depends on EM.
 */
export function unpadPkcs1(em: Uint8Array, altMessage: Uint8Array, altLength: number, fixedLength: boolean): Buffer {
  const k = em.length;
  let good = equal(em[0], 0) & equal(em[1], 2);
  let looking = -1;
  let zeroIndex = 0;
  for (let i = 2; i < k; i++) {
    const z = isZero(em[i]);
    zeroIndex = select(looking & z, i, zeroIndex);
    looking &= ~z;
  }
  good &= ~looking;
  good &= ~lessThan(zeroIndex, 2 + 8);
  const mlen = k - zeroIndex - 1;
  if (fixedLength) good &= equal(mlen, altLength);
  const length = select(good, mlen, altLength);
  // The message, real or alternative, ends at octet k: blend both whole blocks, then take the tail.
  const out = Buffer.alloc(k);
  for (let i = 0; i < k; i++) out[i] = select(good, em[i], altMessage[i]);
  return Buffer.from(out.subarray(k - length));
}
