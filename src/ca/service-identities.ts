import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { serviceIdentities } from '../db/schema.ts';
import { IssuanceError } from '../issuance/errors.ts';
import type { IssuancePipeline } from '../issuance/pipeline.ts';
import type { Identifier, KeySpec } from '../issuance/request.ts';
import type { ProfileStore } from '../profiles/store.ts';
import { systemReason } from '../profiles/audience.ts';
import type { ServiceIdentity } from '../protocol-context.ts';
import type { KeyStore } from './keystore.ts';
import type { IssuerRegistry } from './registry.ts';

export interface ServiceIdentityRequest {
  name: string;
  systemProfile: string;
  subject: string;
  key: KeySpec;
  issuerId?: string;
  sans?: Identifier[];
}

/**
 * Protocols' own identities (SCEP RA, CMP signer, EST server): a key generated in the key store and
 * a certificate the core issues from a system profile, under the internal principal
 * `service:<protocol>:<name>` — never a protocol client's request. Kept in `service_identities`;
 * renewed (new key, new certificate) once less than a third of its life remains.
 */
export class ServiceIdentities {
  private readonly cache = new Map<string, ServiceIdentity & { notBefore: Date; notAfter: Date }>();
  private readonly running = new Map<string, Promise<ServiceIdentity>>();

  constructor(
    private readonly db: Db,
    private readonly keys: KeyStore,
    private readonly issuers: IssuerRegistry,
    private readonly pipeline: IssuancePipeline,
    private readonly profiles: ProfileStore,
  ) {}

  ensure(protocol: string, req: ServiceIdentityRequest): Promise<ServiceIdentity> {
    const id = `${protocol}:${req.name}`;
    const hit = this.cache.get(id);
    if (hit && fresh(hit.notBefore, hit.notAfter)) return Promise.resolve(hit);
    let p = this.running.get(id);
    if (!p) {
      p = this.load(protocol, req).finally(() => this.running.delete(id));
      this.running.set(id, p);
    }
    return p;
  }

  private async load(protocol: string, req: ServiceIdentityRequest): Promise<ServiceIdentity> {
    const where = and(eq(serviceIdentities.protocol, protocol), eq(serviceIdentities.name, req.name));
    let [row] = await this.db.select().from(serviceIdentities).where(where);
    if (!row || !fresh(row.notBefore, row.notAfter)) {
      const issued = await this.issue(protocol, req);
      const values = { protocol, name: req.name, ...issued, updatedAt: new Date() };
      if (row) {
        // Renewal: only the instance that still sees the old certificate replaces it.
        await this.db.update(serviceIdentities).set(values).where(and(where, eq(serviceIdentities.certificateId, row.certificateId)));
      } else {
        await this.db.insert(serviceIdentities).values(values).onConflictDoNothing();
      }
      [row] = await this.db.select().from(serviceIdentities).where(where);
    }
    const issuer = await this.issuers.get(row.issuerId);
    const identity = {
      key: await this.keys.open(row.keyRef),
      certDer: Buffer.from(row.certDer),
      chain: issuer?.chain ?? [],
      issuerId: row.issuerId,
      notBefore: row.notBefore,
      notAfter: row.notAfter,
    };
    this.cache.set(`${protocol}:${req.name}`, identity);
    return identity;
  }

  private async issue(protocol: string, req: ServiceIdentityRequest) {
    // Only a system profile: a protocol must not mint itself an end-entity certificate its clients could ask for.
    const profile = await this.profiles.require(req.systemProfile);
    if (!systemReason(profile)) throw new IssuanceError('forbiddenProfile', `profile "${profile.name}" is not a system profile; a service identity needs one`, 'profile.audience');
    const key = await this.keys.generate(req.key, `service:${protocol}:${req.name}`);
    const result = await this.pipeline.issue({
      principal: { id: `service:${protocol}:${req.name}`, protocol: 'internal', authenticatedBy: 'local' },
      profile: req.systemProfile,
      key: { kind: 'spki', der: key.signer.publicKey.export({ format: 'der', type: 'spki' }), pop: 'verified-by-protocol' },
      subject: req.subject,
      sans: req.sans,
      issuerId: req.issuerId,
      metadata: { serviceIdentity: `${protocol}:${req.name}` },
    });
    if (result.status !== 'issued') throw new IssuanceError('issuerUnavailable', `service identity ${protocol}:${req.name}: profile "${req.systemProfile}" did not issue (${result.status})`);
    const c = result.certificate;
    return { keyRef: key.keyRef, certificateId: c.id, issuerId: c.issuerId, certDer: Buffer.from(c.der), notBefore: c.notBefore, notAfter: c.notAfter };
  }
}

/** More than a third of its life left. */
function fresh(notBefore: Date, notAfter: Date): boolean {
  const life = notAfter.getTime() - notBefore.getTime();
  return notAfter.getTime() - Date.now() > life / 3;
}
