/**
 * RSA key transport (SCEP and CMP envelopes) with a token-held key, without a padding oracle:
 * the token does raw RSA (CKM_RSA_X_509) and the PKCS#1 v1.5 padding is checked here with the
 * same constant-time implicit rejection as the software path (rsa-decrypter.ts). Whether the token
 * is called depends only on the ciphertext's length and range (public). The implicit-rejection
 * secret cannot be derived from d (it never leaves the token): it is HMAC(KEK-derived key, keyRef).
 * OAEP goes to the token's CKM_RSA_PKCS_OAEP (SoftHSM2 offers it with SHA-1 only); its failure
 * yields the same kind of pseudo-random output.
 */
import { createHmac, type KeyObject } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import type { Decrypter, RsaScheme } from '../../protocol-context.ts';
import { alternative, leftPad, unpadPkcs1 } from '../rsa-decrypter.ts';
import { TokenUnavailable, isConnectionError, type Pkcs11Token } from './token.ts';
import type { KeyHandleLookup } from './signer.ts';

/** CKZ_DATA_SPECIFIED (PKCS#11 §2.1.8): the OAEP label comes as source data (empty here). */
const CKZ_DATA_SPECIFIED = 1;

const oaepHash: Record<string, [number, number]> = {
  sha1: [pkcs11js.CKM_SHA_1, pkcs11js.CKG_MGF1_SHA1],
  sha256: [pkcs11js.CKM_SHA256, pkcs11js.CKG_MGF1_SHA256],
  sha384: [pkcs11js.CKM_SHA384, pkcs11js.CKG_MGF1_SHA384],
  sha512: [pkcs11js.CKM_SHA512, pkcs11js.CKG_MGF1_SHA512],
};

export class Pkcs11RsaDecrypter implements Decrypter {
  private readonly k: number;
  private readonly n: bigint;
  private readonly secret: Buffer;

  constructor(
    private readonly token: Pkcs11Token,
    private readonly key: KeyHandleLookup,
    readonly publicKey: KeyObject,
    rejectionKey: Buffer,
    keyRef: string,
  ) {
    const jwk = publicKey.export({ format: 'jwk' });
    const nBytes = Buffer.from(String(jwk.n), 'base64url');
    this.k = nBytes.length;
    this.n = BigInt('0x' + nBytes.toString('hex'));
    this.secret = createHmac('sha256', rejectionKey).update(keyRef).digest();
  }

  async decrypt(ciphertext: Uint8Array, scheme: RsaScheme, expectedLength?: number): Promise<Buffer> {
    if (expectedLength !== undefined && !(Number.isInteger(expectedLength) && expectedLength >= 0 && expectedLength <= this.k - 11)) {
      throw new RangeError(`expectedLength must be 0..${this.k - 11}`);
    }
    const c = Buffer.from(ciphertext);
    const alt = alternative(this.secret, c, this.k);
    const inRange = c.length === this.k && BigInt('0x' + (c.toString('hex') || '0')) < this.n;
    if (scheme.kind === 'oaep') {
      const fallback = Buffer.from(alt.message.subarray(this.k - (expectedLength ?? alt.length)));
      if (!inRange) return fallback;
      const m = await this.run(c, oaepMechanism(scheme.hash)).catch(rethrowOutage);
      return m && (expectedLength === undefined || m.length === expectedLength) ? m : fallback;
    }
    let em: Buffer = Buffer.alloc(this.k);
    if (inRange) em = leftPad((await this.run(c, { mechanism: pkcs11js.CKM_RSA_X_509 }).catch(rethrowOutage)) ?? em, this.k);
    return unpadPkcs1(em, alt.message, expectedLength ?? alt.length, expectedLength !== undefined);
  }

  private run(c: Buffer, mechanism: pkcs11js.Mechanism): Promise<Buffer> {
    return this.token.withSession(async (p11, session, generation) => {
      p11.C_DecryptInit(session, mechanism, this.key(session, generation));
      // Synchronous: pkcs11js 2.1.7's C_DecryptAsync answers CKR_ARGUMENTS_BAD on SoftHSM2, and one
      // private-key operation per envelope is short beside the request around it.
      return Buffer.from(p11.C_Decrypt(session, c, Buffer.alloc(this.k)));
    });
  }
}

/** A token outage is an error (try later); any other token refusal is a bad ciphertext (no output). */
function rethrowOutage(e: unknown): undefined {
  if (e instanceof TokenUnavailable || isConnectionError(e)) throw e;
  return undefined;
}

function oaepMechanism(hash: string): pkcs11js.Mechanism {
  const [hashAlg, mgf] = oaepHash[hash] ?? oaepHash.sha1;
  return { mechanism: pkcs11js.CKM_RSA_PKCS_OAEP, parameter: { type: pkcs11js.CK_PARAMS_RSA_OAEP, hashAlg, mgf, source: CKZ_DATA_SPECIFIED } as pkcs11js.RsaOAEP };
}
