import { createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { issuers, sealedKeys } from '../db/schema.ts';
import { IssuanceError } from '../issuance/errors.ts';
import type { KeySpec } from '../issuance/request.ts';
import type { Decrypter, KeyHandle } from '../protocol-context.ts';
import { generateKey } from './keys.ts';
import { SoftwareRsaDecrypter } from './rsa-decrypter.ts';
import { seal, unseal } from './seal.ts';
import { SoftwareSigner } from './signer.ts';

export type { Decrypter, KeyHandle };

/**
 * Where private keys live: the one place that opens a key by its reference and hands out what
 * signs and (RSA) decrypts with it, never the key. The software store keeps PKCS#8 sealed under
 * the KEK; a PKCS#11 store would implement the same two methods with the key in the HSM (its
 * references `pkcs11:…` URIs), and the issuer registry, OCSP responders and protocols would not change.
 */
export interface KeyStore {
  /**
   * The key named by `keyRef`; throws when there is none (or it cannot be unsealed). `spki`, when
   * known (an issuer's certificate), lets an HSM key open without asking the token.
   */
  open(keyRef: string, spki?: Uint8Array): Promise<KeyHandle>;
  /** Generates a key and keeps it; `label` says what it is for (logs, HSM object label). */
  generate(spec: KeySpec, label: string): Promise<KeyHandle>;
}

/** The reference of an issuer's key kept sealed in its own row (rows from before key references: derived). */
export const issuerKeyRef = (issuerId: string) => `sealed:issuer:${issuerId}`;
/** The sealed-blob purpose string binding each issuer's sealed key to its issuer id. */
export const issuerKeyPurpose = (issuerId: string) => `issuer-key:${issuerId}`;

/** A handle over a software private key: signer, and decrypter for RSA. */
export function softwareKeyHandle(keyRef: string, privateKey: KeyObject): KeyHandle {
  return {
    keyRef,
    signer: new SoftwareSigner(privateKey),
    decrypter: privateKey.asymmetricKeyType === 'rsa' ? new SoftwareRsaDecrypter(privateKey) : undefined,
  };
}

/**
 * Software key store: issuers' keys sealed in `issuers.private_key_sealed` (`sealed:issuer:<id>`),
 * every other key in `sealed_keys` (`sealed:key:<uuid>`). Opened handles are cached: unsealing and
 * loading a key costs more than a signature.
 */
export class SoftwareKeyStore implements KeyStore {
  private readonly cache = new Map<string, Promise<KeyHandle>>();

  constructor(
    private readonly db: Db,
    private readonly kek: Buffer,
    /** The HSM's key store, when CERTGATE_PKCS11_MODULE is set: `pkcs11:` references open there. */
    readonly pkcs11?: KeyStore,
  ) {}

  open(keyRef: string, spki?: Uint8Array): Promise<KeyHandle> {
    if (/^pkcs11:/i.test(keyRef)) {
      if (!this.pkcs11) return Promise.reject(new IssuanceError('issuerUnavailable', `key ${keyRef} is in an HSM, and no PKCS#11 module is configured (CERTGATE_PKCS11_MODULE)`, 'hsm.unconfigured'));
      return this.pkcs11.open(keyRef, spki);
    }
    let p = this.cache.get(keyRef);
    if (!p) {
      p = this.load(keyRef);
      this.cache.set(keyRef, p);
      p.catch(() => this.cache.delete(keyRef));
    }
    return p;
  }

  async generate(spec: KeySpec, label: string): Promise<KeyHandle> {
    const { privateKey } = await generateKey(spec);
    return this.keep(privateKey, label);
  }

  /** Keeps an existing key (import) under a new reference. */
  async keep(privateKey: KeyObject, label: string): Promise<KeyHandle> {
    const keyRef = `sealed:key:${randomUUID()}`;
    const handle = softwareKeyHandle(keyRef, privateKey);
    await this.db.insert(sealedKeys).values({
      keyRef,
      label,
      keyAlgorithm: handle.signer.keyAlgorithm,
      sealed: seal(this.kek, privateKey.export({ format: 'der', type: 'pkcs8' }), keyRef),
    });
    this.cache.set(keyRef, Promise.resolve(handle));
    return handle;
  }

  /** Seals an issuer's PKCS#8 for its row (the registry stores it); its reference is issuerKeyRef(id). */
  sealIssuerKey(issuerId: string, privateKey: KeyObject): Buffer {
    return seal(this.kek, privateKey.export({ format: 'der', type: 'pkcs8' }), issuerKeyPurpose(issuerId));
  }

  /** The label a key was generated or kept with (undefined for issuer keys and unknown references). */
  async labelOf(keyRef: string): Promise<string | undefined> {
    if (!keyRef.startsWith('sealed:key:')) return undefined;
    const [row] = await this.db.select({ label: sealedKeys.label }).from(sealedKeys).where(eq(sealedKeys.keyRef, keyRef));
    return row?.label;
  }

  /** Forgets a cached handle (an issuer re-imported under the same id). */
  forget(keyRef: string): void {
    this.cache.delete(keyRef);
  }

  private async load(keyRef: string): Promise<KeyHandle> {
    const issuer = /^sealed:issuer:(.+)$/.exec(keyRef);
    if (issuer) {
      const [row] = await this.db.select({ sealed: issuers.privateKeySealed }).from(issuers).where(eq(issuers.id, issuer[1]));
      if (!row?.sealed) throw new IssuanceError('issuerUnavailable', `key ${keyRef}: no sealed key in the issuer's row`);
      return softwareKeyHandle(keyRef, pkcs8(unseal(this.kek, row.sealed, issuerKeyPurpose(issuer[1]))));
    }
    if (keyRef.startsWith('sealed:key:')) {
      const [row] = await this.db.select().from(sealedKeys).where(eq(sealedKeys.keyRef, keyRef));
      if (!row) throw new IssuanceError('issuerUnavailable', `key ${keyRef}: not in the key store`);
      return softwareKeyHandle(keyRef, pkcs8(unseal(this.kek, row.sealed, keyRef)));
    }
    throw new IssuanceError('issuerUnavailable', `key ${keyRef}: not a software key reference (a PKCS#11 key needs the PKCS#11 key store)`);
  }
}

function pkcs8(der: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
}
