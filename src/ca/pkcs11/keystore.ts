/**
 * The PKCS#11 key store: keys on one token (the settings name its module, token and PIN),
 * referenced by RFC 7512 URIs. It hands out signers and RSA decrypters, never keys: the private
 * key objects are sensitive and non-extractable. Object handles are looked up once per connection
 * and forgotten when the token reconnects.
 */
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { signatureSchemeOf, verifySignature } from '../../pki/algorithms.ts';
import { BadRequest, IssuanceError } from '../../issuance/errors.ts';
import type { KeySpec } from '../../issuance/request.ts';
import type { KeyHandle, KeyStore } from '../keystore.ts';
import { Pkcs11RsaDecrypter } from './decrypter.ts';
import { findPrivateKey, generateKeyPair, listPrivateKeys, publicKeyOf, type TokenKeyInfo } from './objects.ts';
import { Pkcs11Signer } from './signer.ts';
import { Pkcs11Token, TokenUnavailable, type Pkcs11Settings } from './token.ts';
import { formatPkcs11Uri, parsePkcs11Uri, type Pkcs11UriError, type Pkcs11Uri } from './uri.ts';

/** CK_SLOT_INFO flag (PKCS#11 §3.2), missing from pkcs11js' constants. */
const CKF_TOKEN_PRESENT = 1;

export class Pkcs11KeyStore implements KeyStore {
  readonly token: Pkcs11Token;
  private readonly handles = new Map<string, { generation: number; handle: Buffer }>();
  private readonly opened = new Map<string, KeyHandle>();

  constructor(
    settings: Pkcs11Settings,
    /** Keys the implicit-rejection secret of RSA decrypters (derived from the KEK). */
    private readonly rejectionKey: Buffer,
  ) {
    this.token = new Pkcs11Token(settings);
  }

  /** Connects now; false (with the reason in token.reason) when the token is not there yet. */
  start(): boolean {
    try {
      this.token.connect();
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The key named by `keyRef`. With `spki` (the issuer certificate's key) nothing is asked of the
   * token now: an issuer loads while its token is away and signs once it is back.
   */
  async open(keyRef: string, spki?: Uint8Array): Promise<KeyHandle> {
    const hit = this.opened.get(keyRef);
    if (hit) return hit;
    const uri = this.parse(keyRef);
    const publicKey = spki
      ? createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' })
      : await this.token.withSession((p11, s, g) => publicKeyOf(p11, s, uri, this.lookup(keyRef, uri)(s, g)));
    const handle = this.handleFor(keyRef, uri, publicKey);
    this.opened.set(keyRef, handle);
    return handle;
  }

  async generate(spec: KeySpec, label: string): Promise<KeyHandle> {
    const object = label.replace(/[^\x20-\x7e]/g, '_').slice(0, 100);
    const id = await this.token.withSession((p11, s) => generateKeyPair(p11, s, spec, object));
    const keyRef = formatPkcs11Uri({ token: this.token.tokenLabel, id, object, type: 'private' });
    return this.open(keyRef);
  }

  /** The private keys on the token (label, id, type, sensitive/extractable) with their URIs. */
  async list(): Promise<(TokenKeyInfo & { keyRef: string })[]> {
    const keys = await this.token.withSession((p11, s) => listPrivateKeys(p11, s));
    return keys.map((k) => ({ ...k, keyRef: formatPkcs11Uri({ token: this.token.tokenLabel, id: k.id, object: k.label, type: 'private' }) }));
  }

  /** Every slot the module shows, with its token (label, model, serial) when one is present. */
  async slots(): Promise<{ slot: string; description: string; token?: { label: string; manufacturer: string; model: string; serial: string; initialized: boolean } }[]> {
    return this.token.withSession((p11) =>
      p11.C_GetSlotList(false).map((s) => {
        const info = p11.C_GetSlotInfo(s);
        const present = (info.flags & CKF_TOKEN_PRESENT) !== 0;
        const t = present ? p11.C_GetTokenInfo(s) : undefined;
        return {
          slot: String(s.readUInt32LE(0) + s.readUInt32LE(4) * 2 ** 32),
          description: info.slotDescription.trim(),
          ...(t
            ? { token: { label: t.label.trim(), manufacturer: t.manufacturerID.trim(), model: t.model.trim(), serial: t.serialNumber.trim(), initialized: (t.flags & pkcs11js.CKF_TOKEN_INITIALIZED) !== 0 } }
            : {}),
        };
      }),
    );
  }

  /** Signs random data with the key and verifies the signature with its public key. */
  async test(keyRef: string): Promise<{ ok: boolean; ms: number; error?: string }> {
    const t0 = performance.now();
    try {
      const h = await this.open(keyRef);
      const data = randomBytes(64);
      const sig = await h.signer.sign(data);
      const ok = verifyWith(h.signer.algorithmIdentifier, h.signer.publicKey, data, sig);
      return { ok, ms: performance.now() - t0, ...(ok ? {} : { error: 'the signature does not verify under the public key' }) };
    } catch (e) {
      return { ok: false, ms: performance.now() - t0, error: (e as Error).message };
    }
  }

  close(): void {
    this.token.close();
  }

  private parse(keyRef: string): Pkcs11Uri {
    let uri: Pkcs11Uri;
    try {
      uri = parsePkcs11Uri(keyRef);
    } catch (e) {
      throw new BadRequest(`key reference: ${(e as Pkcs11UriError).message}`, 'keyRef');
    }
    if (uri.token !== undefined && this.token.tokenLabel && uri.token !== this.token.tokenLabel) {
      throw new IssuanceError('issuerUnavailable', `key ${keyRef}: on token "${uri.token}", but Certgate is configured for "${this.token.tokenLabel}"`, 'hsm.token');
    }
    return uri;
  }

  private handleFor(keyRef: string, uri: Pkcs11Uri, publicKey: KeyObject): KeyHandle {
    const lookup = this.lookup(keyRef, uri);
    return {
      keyRef,
      signer: new Pkcs11Signer(this.token, lookup, publicKey),
      decrypter: publicKey.asymmetricKeyType === 'rsa' ? new Pkcs11RsaDecrypter(this.token, lookup, publicKey, this.rejectionKey, keyRef) : undefined,
    };
  }

  /** The private key's object handle on this connection (found once per reconnect). */
  private lookup(keyRef: string, uri: Pkcs11Uri) {
    return (session: Buffer, generation: number): Buffer => {
      const hit = this.handles.get(keyRef);
      if (hit && hit.generation === generation) return hit.handle;
      const handle = findPrivateKey(this.token.p11, session, uri);
      if (!handle) throw new IssuanceError('issuerUnavailable', `key ${keyRef} is not on the token`, 'hsm.key');
      this.handles.set(keyRef, { generation, handle });
      return handle;
    };
  }
}

export { TokenUnavailable };

function verifyWith(algorithmIdentifier: Buffer, key: KeyObject, data: Buffer, sig: Buffer): boolean {
  return verifySignature(signatureSchemeOf(algorithmIdentifier), key, data, sig);
}
