import { createPrivateKey, createPublicKey, createSign, sign as nodeSign, type KeyObject } from 'node:crypto';
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

  constructor(private readonly privateKey: KeyObject) {
    this.publicKey = createPublicKey(privateKey);
    const a = signatureAlgorithmFor(privateKey);
    this.algorithmIdentifier = a.algorithmIdentifier;
    this.hash = a.hash;
    this.keyAlgorithm = describeKey(privateKey);
  }

  static fromPkcs8(der: Uint8Array): SoftwareSigner {
    return new SoftwareSigner(createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' }));
  }

  sign(data: Uint8Array): Buffer {
    // ECDSA signatures come back DER-encoded (node's default), as X.509 wants.
    return nodeSign(this.hash, data, this.privateKey);
  }

  signParts(parts: readonly Uint8Array[]): Buffer {
    // Ed25519 signs the message itself (no separate hash to stream): concatenate once.
    if (this.hash === null) return this.sign(Buffer.concat(parts));
    const s = createSign(this.hash);
    for (const p of parts) s.update(p);
    return s.sign(this.privateKey);
  }

  signWithHash(hash: 'sha1' | 'sha256' | 'sha384' | 'sha512', data: Uint8Array): Buffer {
    if (this.hash === null) throw new IssuanceError('internal', `${this.keyAlgorithm} signs without a separate hash`);
    return nodeSign(hash, data, this.privateKey);
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
