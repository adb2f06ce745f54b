import { constants, createPrivateKey, createPublicKey, createSign, sign as nodeSign, type KeyObject, type SignKeyObjectInput } from 'node:crypto';
import { digestAlgorithms, type HashName } from '../pki/algorithms.ts';
import { explicit, integer, nullValue, oid, seq } from '../pki/der.ts';
import { signatureAlgorithmFor } from '../pki/certificate.ts';
import { IssuanceError } from '../issuance/errors.ts';

/**
 * What signs for an issuer. Software keys live in memory only after unsealing; a PKCS#11
 * signer implements the same interface with the key in the HSM.
 */
export interface Signer {
  /** DER AlgorithmIdentifier of the signatures this signer makes. */
  readonly algorithmIdentifier: Buffer;
  readonly publicKey: KeyObject;
  /** Human-readable key type, e.g. `EC P-256`, `RSA 2048`. */
  readonly keyAlgorithm: string;
  sign(data: Uint8Array): Buffer | Promise<Buffer>;
  /** The same key signing RSASSA-PSS (SHA-256, salt 32); RSA signers only. */
  asPss?(): Signer;
  /**
   * Optional: signs with another hash than the signer's own (RSA PKCS#1 v1.5 and ECDSA only),
   * for peers that choose the digest, e.g. SCEP clients without SHA-256 (CMS `digest` option).
   */
  signWithHash?(hash: 'sha1' | 'sha256' | 'sha384' | 'sha512', data: Uint8Array): Buffer | Promise<Buffer>;
  /**
   * Optional: signs the concatenation of `parts` without concatenating them (hashing part by part),
   * for very large data such as a million-entry CRL. Callers fall back to sign(concat) without it.
   */
  signParts?(parts: readonly Uint8Array[]): Buffer | Promise<Buffer>;
}

/** Signs the concatenation of `parts`: streamed when the signer can, else concatenated once. */
export function signParts(signer: Signer, parts: readonly Uint8Array[]): Buffer | Promise<Buffer> {
  return signer.signParts ? signer.signParts(parts) : signer.sign(Buffer.concat(parts));
}

export class SoftwareSigner implements Signer {
  readonly algorithmIdentifier: Buffer;
  readonly publicKey: KeyObject;
  readonly keyAlgorithm: string;
  private readonly hash: string | null;
  private readonly rsa: boolean;

  constructor(
    private readonly privateKey: KeyObject,
    private readonly pss = false,
  ) {
    this.publicKey = createPublicKey(privateKey);
    const a = signatureAlgorithmFor(privateKey);
    this.algorithmIdentifier = pss ? pssAlgorithmIdentifier('sha256') : a.algorithmIdentifier;
    this.hash = a.hash;
    this.keyAlgorithm = describeKey(privateKey);
    this.rsa = privateKey.asymmetricKeyType === 'rsa';
  }

  static fromPkcs8(der: Uint8Array): SoftwareSigner {
    return new SoftwareSigner(createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' }));
  }

  /**
   * RSA signs on libuv's thread pool (a private operation is ~0.3 ms for 2048 bits here, milliseconds for 4096:
   * on the event loop it would cap issuance at one core's signing rate); EC and EdDSA sign inline,
   * where a signature (~35 µs) costs less than the hand-off.
   */
  sign(data: Uint8Array): Buffer | Promise<Buffer> {
    if (this.pss) return this.offload('sha256', data, { key: this.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    if (this.rsa) return this.offload(this.hash, data, this.privateKey);
    // ECDSA signatures come back DER-encoded (node's default), as X.509 wants.
    return nodeSign(this.hash, data, this.privateKey);
  }

  private offload(hash: string | null, data: Uint8Array, key: KeyObject | SignKeyObjectInput): Promise<Buffer> {
    return new Promise((resolve, reject) => nodeSign(hash, data, key, (err, sig) => (err ? reject(err) : resolve(sig))));
  }

  asPss(): SoftwareSigner {
    if (this.privateKey.asymmetricKeyType !== 'rsa') throw new IssuanceError('internal', `${this.keyAlgorithm} keys cannot sign RSASSA-PSS`);
    return new SoftwareSigner(this.privateKey, true);
  }

  signParts(parts: readonly Uint8Array[]): Buffer | Promise<Buffer> {
    // Ed25519 signs the message itself (no separate hash to stream): concatenate once.
    if (this.hash === null) return this.sign(Buffer.concat(parts));
    const s = createSign(this.pss ? 'sha256' : this.hash);
    for (const p of parts) s.update(p);
    return this.pss ? s.sign({ key: this.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }) : s.sign(this.privateKey);
  }

  signWithHash(hash: 'sha1' | 'sha256' | 'sha384' | 'sha512', data: Uint8Array): Buffer | Promise<Buffer> {
    if (this.pss && hash !== 'sha256') throw new IssuanceError('internal', 'an RSASSA-PSS signer signs with SHA-256 only');
    if (this.pss) return this.sign(data);
    if (this.hash === null) throw new IssuanceError('internal', `${this.keyAlgorithm} signs without a separate hash`);
    return this.rsa ? this.offload(hash, data, this.privateKey) : nodeSign(hash, data, this.privateKey);
  }
}

export function describeKey(key: KeyObject): string {
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      return `EC ${curveName(d.namedCurve)}`;
    case 'rsa':
      return `RSA ${d.modulusLength}`;
    case 'ed25519':
      return 'Ed25519';
    default:
      return String(key.asymmetricKeyType);
  }
}

function curveName(c?: string): string {
  return c === 'prime256v1' ? 'P-256' : c === 'secp384r1' ? 'P-384' : c === 'secp521r1' ? 'P-521' : String(c);
}

/** RSASSA-PSS AlgorithmIdentifier (RFC 4055 §3.1): the hash, MGF1 with the same hash, salt = hash length. */
export function pssAlgorithmIdentifier(hash: HashName): Buffer {
  const h = seq(oid(digestAlgorithms[hash].oid), nullValue());
  return seq(
    oid('1.2.840.113549.1.1.10'),
    seq(explicit(0, h), explicit(1, seq(oid('1.2.840.113549.1.1.8'), h)), explicit(2, integer(digestAlgorithms[hash].length))),
  );
}
