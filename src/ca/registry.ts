import { randomBytes, type KeyObject } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { issuers } from '../db/schema.ts';
import { signatureSchemeOf, verifySignature } from '../pki/algorithms.ts';
import { assembleSigned, buildTbsCertificate, parseCertificate, randomSerial } from '../pki/certificate.ts';
import { children, readTlv } from '../pki/der.ts';
import * as x509ext from '../pki/extensions.ts';
import { decodeName, encodeName, formatName, type EncodedAttribute } from '../pki/name.ts';
import { attributeOid } from '../pki/oids.ts';
import type { KeySpec } from '../issuance/request.ts';
import { BadRequest, IssuanceError, NotFound } from '../issuance/errors.ts';
import { hashHex, issuerUrls, type Issuer, type IssuerOptions } from './issuer.ts';
import { generateKey } from './keys.ts';
import { subjectPublicKeyBits } from '../pki/keyinfo.ts';
import { issuerKeyRef, type SoftwareKeyStore } from './keystore.ts';
import { SoftwareSigner, type Signer } from './signer.ts';

export interface CreateIssuerInput {
  id: string;
  name: string;
  /** Subject as attributes in DER order; default `CN=<name>`. */
  subject?: EncodedAttribute[];
  key: KeySpec;
  /** Parent issuer id; none = self-signed root. */
  parentId?: string;
  validityDays: number;
  pathLength?: number;
  isDefault?: boolean;
  options?: IssuerOptions;
  /** Where the key is generated: sealed in the database (default) or on the HSM token. */
  keyStore?: 'software' | 'pkcs11';
  /** An existing HSM key (`pkcs11:` URI) instead of a new one; `key` is then ignored. */
  keyRef?: string;
}

/**
 * Every issuer this deployment holds, with its signer from the key store, cached in memory.
 * Issuers are rows in the database; another instance may add one, so a miss reloads.
 */
export class IssuerRegistry {
  private byId = new Map<string, Issuer>();
  private lastMissReload = 0;

  constructor(
    private readonly db: Db,
    private readonly keys: SoftwareKeyStore,
    private readonly publicUrl: string,
  ) {}

  async load(): Promise<void> {
    const rows = await this.db.select().from(issuers);
    const next = new Map<string, Issuer>();
    // Parents first, so chains can be built.
    const pending = [...rows];
    while (pending.length) {
      const before = pending.length;
      for (let i = 0; i < pending.length; i++) {
        const r = pending[i];
        if (r.parentId && r.parentId !== r.id && !next.has(r.parentId)) continue;
        // Reuse the signer of an issuer already loaded with the same certificate; rows from before
        // key references name their sealed key implicitly.
        const keyRef = r.keyRef ?? issuerKeyRef(r.id);
        const known = this.byId.get(r.id);
        let signer: Signer;
        if (known && known.certDer.equals(Buffer.from(r.certDer))) signer = known.signer;
        else {
          this.keys.forget(keyRef);
          // An HSM key opens from the certificate's public key: the issuer loads while its token is away.
          signer = (await this.keys.open(keyRef, parseCertificate(Buffer.from(r.certDer)).spki)).signer;
          if ((r.options as IssuerOptions | null)?.signatureScheme === 'rsa-pss') signer = pssOf(signer);
        }
        const parent = r.parentId && r.parentId !== r.id ? next.get(r.parentId) : undefined;
        next.set(r.id, this.toIssuer(r, signer, keyRef, parent));
        pending.splice(i--, 1);
      }
      if (pending.length === before) throw new IssuanceError('internal', `issuers with missing parents: ${pending.map((p) => p.id).join(', ')}`);
    }
    this.byId = next;
  }

  private toIssuer(r: typeof issuers.$inferSelect, signer: Signer, keyRef: string, parent?: Issuer): Issuer {
    const certDer = Buffer.from(r.certDer);
    const parsed = parseCertificate(certDer);
    const keyBits = subjectPublicKeyBits(parsed.spki);
    return {
      id: r.id,
      name: r.name,
      parentId: r.parentId,
      certDer,
      subjectDer: Buffer.from(parsed.subject),
      subject: r.subject,
      spki: Buffer.from(parsed.spki),
      keyId: parsed.ski ?? x509ext.keyIdentifier(parsed.spki),
      notBefore: r.notBefore,
      notAfter: r.notAfter,
      status: r.status === 'retired' ? 'retired' : 'active',
      isDefault: r.isDefault,
      // A root is self-issued: an imported subordinate CA whose root stays offline elsewhere is not one.
      isRoot: !parent && Buffer.from(parsed.subject).equals(Buffer.from(parsed.issuer)),
      signer,
      keyRef,
      chain: [certDer, ...(parent?.chain ?? [])],
      options: (r.options ?? {}) as IssuerOptions,
      hashes: {
        nameSha1: hashHex('sha1', parsed.subject),
        keySha1: hashHex('sha1', keyBits),
        nameSha256: hashHex('sha256', parsed.subject),
        keySha256: hashHex('sha256', keyBits),
      },
    };
  }

  list(): Issuer[] {
    return [...this.byId.values()];
  }

  /**
   * The issuer with this id; on a miss reloads (another instance may have created it), at most
   * once a second, so requests for unknown issuers cannot make every request reload.
   */
  async get(id: string): Promise<Issuer | undefined> {
    const hit = this.byId.get(id);
    if (hit) return hit;
    if (Date.now() - this.lastMissReload < 1000) return undefined;
    this.lastMissReload = Date.now();
    await this.load();
    return this.byId.get(id);
  }

  peek(id: string): Issuer | undefined {
    return this.byId.get(id);
  }

  defaultIssuer(): Issuer | undefined {
    return this.list().find((i) => i.isDefault && i.status === 'active');
  }

  /** Creates a root (no parent) or a subordinate CA signed by `parentId`, stores it sealed, returns it. */
  async create(input: CreateIssuerInput): Promise<Issuer> {
    assertIssuerId(input.id);
    if (input.keyRef || input.keyStore === 'pkcs11') {
      const hsm = this.keys.pkcs11;
      if (!hsm) throw new BadRequest('no HSM is configured (CERTGATE_PKCS11_MODULE): cannot keep the key in one');
      if (input.parentId && !(await this.get(input.parentId))) throw new NotFound(`parent issuer ${input.parentId} not found`);
      const handle = input.keyRef ? await hsm.open(input.keyRef) : await hsm.generate(input.key, `certgate-issuer-${input.id}`);
      // A key named by the operator must sign, and its signatures verify, before a certificate names it.
      const probe = randomBytes(32);
      if (!verifySignature(signatureSchemeOf(handle.signer.algorithmIdentifier), handle.signer.publicKey, probe, await handle.signer.sign(probe))) {
        throw new BadRequest(`key ${handle.keyRef}: its signature does not verify under its public key`);
      }
      return this.createWithSigner(input, handle.signer, handle.keyRef, null);
    }
    const { privateKey } = await generateKey(input.key);
    return this.createWithKey(input, privateKey);
  }

  async createWithKey(input: CreateIssuerInput, privateKey: KeyObject): Promise<Issuer> {
    assertIssuerId(input.id);
    return this.createWithSigner(input, new SoftwareSigner(privateKey), issuerKeyRef(input.id), this.keys.sealIssuerKey(input.id, privateKey));
  }

  /** Issues the CA certificate for `signer`'s key and stores the issuer (`sealed`: its sealed PKCS#8, null for HSM keys). */
  private async createWithSigner(input: CreateIssuerInput, signer: Signer, keyRef: string, sealed: Buffer | null): Promise<Issuer> {
    // A PSS root signs its own certificate with PSS too.
    if (input.options?.signatureScheme === 'rsa-pss') signer = pssOf(signer);
    const spki = signer.publicKey.export({ format: 'der', type: 'spki' });
    const subjectAttrs = input.subject ?? [{ oid: attributeOid('CN')!, value: input.name, encoding: 'utf8' as const }];
    const subjectDer = encodeName(subjectAttrs);
    const parent = input.parentId ? await this.get(input.parentId) : undefined;
    if (input.parentId && !parent) throw new NotFound(`parent issuer ${input.parentId} not found`);
    if (parent) {
      const limit = parentPathLength(parent.certDer);
      if (limit === 0) throw new BadRequest(`issuer ${parent.id} has pathLength 0 and cannot sign a CA`);
      if (limit !== undefined && input.pathLength !== undefined && input.pathLength >= limit) {
        throw new BadRequest(`pathLength must be below the parent's ${limit}`);
      }
      if (limit !== undefined && input.pathLength === undefined) input = { ...input, pathLength: limit - 1 };
    }
    const now = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    let notAfter = new Date(now.getTime() + input.validityDays * 86400_000);
    if (parent && notAfter > parent.notAfter) notAfter = parent.notAfter;
    const keyId = x509ext.keyIdentifier(spki);
    const exts = [
      x509ext.basicConstraints(true, input.pathLength),
      x509ext.keyUsage(['digitalSignature', 'keyCertSign', 'cRLSign']),
      x509ext.subjectKeyIdentifier(keyId),
    ];
    if (parent) {
      const urls = issuerUrls(this.publicUrl, parent.id);
      exts.push(
        x509ext.authorityKeyIdentifier(parent.keyId),
        x509ext.crlDistributionPoints([urls.crl]),
        x509ext.authorityInfoAccess({ caIssuers: [urls.caIssuers], ocsp: [urls.ocsp] }),
      );
    }
    const issuerSigner = parent?.signer ?? signer;
    const tbs = buildTbsCertificate({
      serial: randomSerial(),
      signatureAlgorithm: issuerSigner.algorithmIdentifier,
      issuer: parent?.subjectDer ?? subjectDer,
      notBefore: now,
      notAfter,
      subject: subjectDer,
      spki,
      extensions: exts,
    });
    const certDer = assembleSigned(tbs, issuerSigner.algorithmIdentifier, await issuerSigner.sign(tbs));
    const row = {
      id: input.id,
      name: input.name,
      parentId: parent?.id ?? null,
      certDer,
      subject: formatName(decodeName(subjectDer)),
      keyAlgorithm: signer.keyAlgorithm,
      privateKeySealed: sealed,
      keyRef,
      notBefore: now,
      notAfter,
      status: 'active',
      isDefault: input.isDefault ?? false,
      options: input.options ?? {},
    };
    await this.db.transaction(async (tx) => {
      if (row.isDefault) await tx.update(issuers).set({ isDefault: false }).where(eq(issuers.isDefault, true));
      await tx.insert(issuers).values(row);
    });
    await this.load();
    return this.byId.get(input.id)!;
  }

  /** Imports an existing CA: its certificate and PKCS#8 key (checked to match), sealed like generated ones. */
  async importIssuer(input: { id: string; name?: string; certDer: Buffer; privateKey: KeyObject; parentId?: string; isDefault?: boolean }): Promise<Issuer> {
    const parsed = parseCertificate(input.certDer);
    if (!parsed.isCa) throw new BadRequest('the certificate is not a CA certificate (basicConstraints cA is false)');
    const signer = new SoftwareSigner(input.privateKey);
    const spki = signer.publicKey.export({ format: 'der', type: 'spki' });
    if (!Buffer.from(parsed.spki).equals(spki)) throw new BadRequest('the private key does not match the certificate');
    const subject = formatName(decodeName(parsed.subject));
    await this.db.transaction(async (tx) => {
      if (input.isDefault) await tx.update(issuers).set({ isDefault: false }).where(eq(issuers.isDefault, true));
      await tx.insert(issuers).values({
        id: input.id,
        name: input.name ?? subject,
        parentId: input.parentId ?? null,
        certDer: input.certDer,
        subject,
        keyAlgorithm: signer.keyAlgorithm,
        privateKeySealed: this.keys.sealIssuerKey(input.id, input.privateKey),
        keyRef: issuerKeyRef(input.id),
        notBefore: parsed.notBefore,
        notAfter: parsed.notAfter,
        isDefault: input.isDefault ?? false,
      });
    });
    await this.load();
    return this.byId.get(input.id)!;
  }

  async updateOptions(id: string, options: IssuerOptions): Promise<void> {
    await this.db.update(issuers).set({ options }).where(eq(issuers.id, id));
    await this.load();
  }

  async setDefault(id: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.update(issuers).set({ isDefault: false }).where(eq(issuers.isDefault, true));
      await tx.update(issuers).set({ isDefault: true }).where(eq(issuers.id, id));
    });
    await this.load();
  }

  async count(): Promise<number> {
    const r = await this.db.select({ n: sql<number>`count(*)::int` }).from(issuers);
    return r[0]?.n ?? 0;
  }
}

export { subjectPublicKeyBits };

/** The issuer's signer signing RSASSA-PSS (the issuer option `signatureScheme: 'rsa-pss'`). */
function pssOf(signer: Signer): Signer {
  if (!signer.asPss || signer.publicKey.asymmetricKeyType !== 'rsa') throw new BadRequest(`signatureScheme rsa-pss needs an RSA key, not ${signer.keyAlgorithm}`);
  return signer.asPss();
}

function assertIssuerId(id: string): void {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(id)) throw new BadRequest('issuer ids are 1-63 of a-z 0-9 -');
}

export function randomSuffix(): string {
  return randomBytes(4).toString('hex');
}

/** The pathLenConstraint of a CA certificate, or undefined when it has none. */
function parentPathLength(certDer: Buffer): number | undefined {
  const ext = parseCertificate(certDer).extensions?.find((e) => e.oid === '2.5.29.19');
  if (!ext) return undefined;
  const v = ext.value;
  const outer = readTlv(v, 0);
  for (const t of children(v, outer.start, outer.end)) {
    if (t.tag === 0x02) {
      let n = 0;
      for (let i = t.start; i < t.end; i++) n = n * 256 + v[i];
      return n;
    }
  }
  return undefined;
}
