/**
 * Signing with a token-held key. The hash is computed here and only the hash (ECDSA) or the
 * DigestInfo (RSA PKCS#1 v1.5) goes to the token, so every token that implements the raw
 * mechanisms (CKM_ECDSA, CKM_RSA_PKCS, CKM_RSA_PKCS_PSS) works, whatever hash mechanisms it has.
 * CKM_ECDSA returns r || s; X.509, CMS and OCSP want the DER Ecdsa-Sig-Value.
 */
import { createHash, type KeyObject } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { digestAlgorithms, signatureAlgorithmIdentifier, signatureOidFor } from '../../pki/algorithms.ts';
import { integerFromBytes, nullValue, oid, seq } from '../../pki/der.ts';
import { IssuanceError } from '../../issuance/errors.ts';
import { describeKey, pssAlgorithmIdentifier, type Signer } from '../signer.ts';
import type { Pkcs11Token } from './token.ts';

export type Hash = 'sha1' | 'sha256' | 'sha384' | 'sha512';

/** Resolves the private key object handle on a session (cached by the key store per connection). */
export type KeyHandleLookup = (session: Buffer, generation: number) => Buffer;

export class Pkcs11Signer implements Signer {
  readonly algorithmIdentifier: Buffer;
  readonly keyAlgorithm: string;
  private readonly hash: Hash;
  private readonly kind: 'ec' | 'rsa' | 'pss';
  private readonly size: number;

  constructor(
    private readonly token: Pkcs11Token,
    private readonly key: KeyHandleLookup,
    readonly publicKey: KeyObject,
    opts: { pss?: boolean } = {},
  ) {
    this.keyAlgorithm = describeKey(publicKey);
    const d = publicKey.asymmetricKeyDetails ?? {};
    if (publicKey.asymmetricKeyType === 'ec') {
      this.kind = 'ec';
      this.hash = d.namedCurve === 'secp384r1' ? 'sha384' : 'sha256';
      this.size = d.namedCurve === 'secp384r1' ? 48 : 32;
      this.algorithmIdentifier = signatureAlgorithmIdentifier(signatureOidFor('ec', this.hash));
    } else if (publicKey.asymmetricKeyType === 'rsa') {
      this.kind = opts.pss ? 'pss' : 'rsa';
      this.hash = 'sha256';
      this.size = Math.ceil((d.modulusLength ?? 0) / 8);
      this.algorithmIdentifier = opts.pss ? pssAlgorithmIdentifier('sha256') : signatureAlgorithmIdentifier(signatureOidFor('rsa', 'sha256'));
    } else {
      throw new IssuanceError('internal', `${this.keyAlgorithm} keys cannot sign through PKCS#11 here`);
    }
  }

  sign(data: Uint8Array): Promise<Buffer> {
    return this.signWithHash(this.hash, data);
  }

  asPss(): Pkcs11Signer {
    if (this.kind === 'ec') throw new IssuanceError('internal', `${this.keyAlgorithm} keys cannot sign RSASSA-PSS`);
    return new Pkcs11Signer(this.token, this.key, this.publicKey, { pss: true });
  }

  async signWithHash(hash: Hash, data: Uint8Array): Promise<Buffer> {
    if (this.kind === 'pss' && hash !== this.hash) throw new IssuanceError('internal', 'an RSASSA-PSS signer signs with its own hash only');
    const digest = createHash(hash).update(data).digest();
    const { mechanism, input } = this.mechanismFor(hash, digest);
    const raw = await this.token.withSession(async (p11, session, generation) => {
      p11.C_SignInit(session, mechanism, this.key(session, generation));
      return p11.C_SignAsync(session, input, Buffer.alloc(Math.max(this.size * 2, 512)));
    });
    return this.kind === 'ec' ? ecdsaDer(raw, this.size) : Buffer.from(raw);
  }

  private mechanismFor(hash: Hash, digest: Buffer): { mechanism: pkcs11js.Mechanism; input: Buffer } {
    if (this.kind === 'ec') return { mechanism: { mechanism: pkcs11js.CKM_ECDSA }, input: digest };
    if (this.kind === 'rsa') return { mechanism: { mechanism: pkcs11js.CKM_RSA_PKCS }, input: digestInfo(hash, digest) };
    return {
      mechanism: {
        mechanism: pkcs11js.CKM_RSA_PKCS_PSS,
        parameter: { type: pkcs11js.CK_PARAMS_RSA_PSS, hashAlg: pkcs11js.CKM_SHA256, mgf: pkcs11js.CKG_MGF1_SHA256, saltLen: 32 } as pkcs11js.RsaPSS,
      },
      input: digest,
    };
  }
}

/** DigestInfo ::= SEQUENCE { AlgorithmIdentifier (with NULL, RFC 8017 §9.2 note 1), OCTET STRING digest }. */
export function digestInfo(hash: Hash, digest: Buffer): Buffer {
  return seq(seq(oid(digestAlgorithms[hash].oid), nullValue()), Buffer.concat([Buffer.from([0x04, digest.length]), digest]));
}

/** r || s (each `size` octets) → Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }. */
export function ecdsaDer(raw: Buffer, size: number): Buffer {
  if (raw.length !== 2 * size) throw new IssuanceError('internal', `the token returned an ECDSA signature of ${raw.length} octets, expected ${2 * size}`);
  return seq(integerFromBytes(raw.subarray(0, size)), integerFromBytes(raw.subarray(size)));
}
