import { createHash, randomUUID } from 'node:crypto';
import { and, eq, gt, ne, sql } from 'drizzle-orm';
import type { AuditLog } from '../audit.ts';
import { issuerUrls, type Issuer } from '../ca/issuer.ts';
import { generateKey } from '../ca/keys.ts';
import type { IssuerRegistry } from '../ca/registry.ts';
import { seal, unseal } from '../ca/seal.ts';
import type { Db } from '../db/client.ts';
import type { CertificateWriter } from '../db/certificate-writer.ts';
import { certificates, pendingRequests } from '../db/schema.ts';
import type { Events } from '../events.ts';
import type { Metrics } from '../metrics.ts';
import { assembleSigned, buildTbsCertificate, randomSerial, serialHex } from '../pki/certificate.ts';
import * as x509ext from '../pki/extensions.ts';
import { keyInfoFromSpki, type KeyInfo } from '../pki/keyinfo.ts';
import { encodeName, formatName, parseDn } from '../pki/name.ts';
import { checkKey, enforceProfile, type CertificateTemplate } from '../profiles/enforce.ts';
import type { Profile } from '../profiles/model.ts';
import type { ProfileStore } from '../profiles/store.ts';
import type { CryptoPool } from '../workers/crypto-pool.ts';
import { lintTbsCertificate } from '../lint/index.ts';
import { mayUseSystemProfiles, systemReason } from '../profiles/audience.ts';
import { BadRequest, Conflict, IssuanceError, NotFound, ProfileViolation, Unavailable } from './errors.ts';
import type { EnrollmentRequest, Identifier, IssuanceResult, IssuedCertificate, SubjectAttribute } from './request.ts';
import { resolveValidity } from './validity.ts';

export interface PipelineDeps {
  db: Db;
  issuers: IssuerRegistry;
  profiles: ProfileStore;
  writer: CertificateWriter;
  audit: AuditLog;
  events: Events;
  metrics: Metrics;
  kek: Buffer;
  publicUrl: string;
  /** Parses and verifies PKCS#10 requests (on worker threads when configured). */
  crypto: CryptoPool;
}

type CertRow = typeof certificates.$inferSelect;

/**
 * THE pipeline (docs/issuance.md): authorize → key and proof of possession → enforce profile →
 * resolve validity → pick issuer → (manual approval) → sign → persist → result.
 * Protocols call `issue`; nothing else signs end-entity certificates or writes the certificates table.
 */
export class IssuancePipeline {
  /** Requests in flight per idempotency key in this process: concurrent duplicates share one issuance. */
  private readonly inFlight = new Map<string, Promise<IssuanceResult>>();

  constructor(private readonly d: PipelineDeps) {}

  async issue(req: EnrollmentRequest): Promise<IssuanceResult> {
    const started = process.hrtime.bigint();
    const labels = { protocol: req.principal.protocol, profile: req.profile };
    try {
      const result = await this.issueOnce(req);
      this.d.metrics.issuances.inc({ ...labels, result: result.status });
      return result;
    } catch (e) {
      this.d.metrics.issuances.inc({ ...labels, result: e instanceof IssuanceError ? e.code : 'error' });
      throw e;
    } finally {
      this.d.metrics.issuanceSeconds.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  private async issueOnce(req: EnrollmentRequest): Promise<IssuanceResult> {
    const key = req.idempotencyKey ? idempotencyScope(req) : undefined;
    if (!key) return this.process(req, undefined);
    const existing = req.idempotencyKeyUnused ? undefined : await this.lookupIdempotent(key);
    if (existing) return existing;
    const running = this.inFlight.get(key);
    if (running) return running.then((r) => ({ ...r, replayed: true }));
    const p = this.process(req, key).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }

  /** The stored result for an idempotency key, if any. */
  private async lookupIdempotent(key: string): Promise<IssuanceResult | undefined> {
    // Perf (ACME benchmark): the usual answer is "nothing stored yet"; one statement asks both
    // tables, and the full row is read only when there is one (PGlite runs each statement in-process).
    const probe = await this.d.db.execute(sql`select exists (select 1 from certificates where idempotency_key = ${key}) as c, exists (select 1 from pending_requests where idempotency_key = ${key}) as p`);
    const hit = ((Array.isArray(probe) ? probe : (probe as unknown as { rows: unknown[] }).rows) as { c: unknown; p: unknown }[])[0];
    if (hit && hit.c !== true && hit.c !== 't' && hit.p !== true && hit.p !== 't') return undefined;
    const [cert] = await this.d.db.select().from(certificates).where(eq(certificates.idempotencyKey, key));
    if (cert) return this.issuedResult(cert, true);
    const [pending] = await this.d.db.select().from(pendingRequests).where(eq(pendingRequests.idempotencyKey, key));
    if (pending) return this.requestResult(pending, true);
    return undefined;
  }

  /** `approvedRequest`: the id of the held request an officer approved (issue it now, hooks told so). */
  private async process(req: EnrollmentRequest, idemKey: string | undefined, approvedRequest?: string): Promise<IssuanceResult> {
    const profile = await this.d.profiles.require(req.profile);
    // The one audience check (issue 11): protocol clients never get a system profile, whatever
    // their allow-list says; only the operator's paths (admin, cli, internal) do.
    const system = systemReason(profile);
    if (system && !mayUseSystemProfiles(req.principal.protocol)) {
      throw new IssuanceError('forbiddenProfile', `profile "${profile.name}" is a system profile (${system}); ${req.principal.protocol} clients cannot use it`, 'profile.audience');
    }
    if (req.principal.allowedProfiles && !req.principal.allowedProfiles.includes(profile.name)) {
      throw new IssuanceError('forbiddenProfile', `not allowed to use profile "${profile.name}"`, 'principal.profiles');
    }

    // Public key and proof of possession.
    let spki: Buffer;
    let keyInfo: KeyInfo;
    let csrSubject: SubjectAttribute[] = [];
    let csrSans: Identifier[] = [];
    let generatedKey: Buffer | undefined;
    if (req.key.kind === 'csr') {
      const csr = await this.d.crypto.parseCsr(req.key.der);
      if (!csr.signatureValid) throw new IssuanceError('badPop', 'the CSR signature does not verify (no proof of possession)', 'csr.signature');
      spki = Buffer.from(csr.spki);
      keyInfo = csr.key;
      csrSubject = csr.subject;
      csrSans = csr.sans;
    } else if (req.key.kind === 'spki') {
      spki = Buffer.from(req.key.der);
      try {
        keyInfo = req.key.keyInfo ?? keyInfoFromSpki(spki);
      } catch {
        throw new BadRequest('the public key is not a valid SubjectPublicKeyInfo', 'key.spki');
      }
    } else {
      // Generated at signing time, after every check passed and approval (if any) was given.
      keyInfo = specToKeyInfo(req.key.spec);
      spki = Buffer.alloc(0);
    }
    checkKey(profile, keyInfo);

    let subject: SubjectAttribute[];
    if (typeof req.subject === 'string') {
      try {
        subject = parseDn(req.subject);
      } catch (e) {
        throw new BadRequest(`invalid subject DN: ${(e as Error).message}`, 'subject.syntax');
      }
    } else subject = req.subject ?? csrSubject;
    const template = enforceProfile(profile, {
      subject,
      sans: req.sans ?? csrSans,
      authorizedIdentifiers: req.principal.authorizedIdentifiers,
      key: keyInfo,
    });

    const replaced = req.replaces ? await this.findReplaced(req) : undefined;
    const issuer = await this.pickIssuer(req, profile);

    const now = new Date();
    const validity = resolveValidity(profile.validity, req.validity, {
      now,
      issuerNotBefore: issuer.notBefore,
      issuerNotAfter: issuer.notAfter,
    });

    if (profile.manualApproval && !approvedRequest) return this.holdForApproval(req, idemKey, template);

    if (req.key.kind === 'generate') {
      const kp = await generateKey(req.key.spec);
      spki = kp.publicKey.export({ format: 'der', type: 'spki' });
      generatedKey = kp.privateKey.export({ format: 'der', type: 'pkcs8' });
    }
    const spkiSha256 = createHash('sha256').update(spki).digest('hex');
    if (replaced?.mode === 'rekey' && replaced.row.spkiSha256 === spkiSha256) {
      throw new IssuanceError('duplicateKey', 'a re-key needs a new public key; this one is the key of the certificate being replaced', 'rekey.newKey');
    }
    await this.checkDuplicates(profile, spkiSha256, template, replaced?.row.id);

    // Sign.
    const id = randomUUID();
    const partitions = issuer.options.crlPartitions ?? 0;
    for (let attempt = 0; attempt < 3; attempt++) {
      const serial = randomSerial();
      const serialText = serialHex(serial);
      const crlPartition = partitions > 1 ? 1 + (serial.readUInt32BE(1) % partitions) : 0;
      const der = await this.sign(issuer, serial, validity, template, spki, crlPartition, profile);
      const subjectText = formatName(template.subject.map((a) => ({ type: a.oid, value: a.value })));
      const certificate: IssuedCertificate = {
        id,
        issuerId: issuer.id,
        serial: serialText,
        der,
        subject: subjectText,
        sans: template.sans,
        notBefore: validity.notBefore,
        notAfter: validity.notAfter,
        profile: profile.name,
      };
      const metadata = req.metadata ?? {};
      const outcome = await this.d.writer.write(
        {
          id,
          issuerId: issuer.id,
          serial: serialText,
          der,
          subject: subjectText,
          sans: template.sans.map((s) => `${s.type}:${s.value}`),
          notBefore: validity.notBefore,
          notAfter: validity.notAfter,
          profile: profile.name,
          spkiSha256,
          protocol: req.principal.protocol,
          principal: req.principal.id,
          idempotencyKey: idemKey ?? null,
          replacesId: replaced?.row.id ?? null,
          privateKeySealed: generatedKey ? seal(this.d.kek, generatedKey, `cert-key:${id}`) : null,
          crlPartition,
          metadata,
        },
        {
          actor: req.principal.id,
          action: 'certificate.issue',
          target: `${issuer.id}:${serialText}`,
          details: { profile: profile.name, protocol: req.principal.protocol, subject: subjectText, replaces: replaced?.row.id },
        },
        { certificate, principalId: req.principal.id, idempotencyKey: req.idempotencyKey, metadata, pendingRequestId: approvedRequest },
      );
      if (outcome.ok) {
        this.d.events.emitIssued({ issuerId: issuer.id, serial: serialText, certificateId: id, profile: profile.name, protocol: req.principal.protocol });
        return { status: 'issued', certificate, chain: issuer.chain, privateKey: generatedKey, replayed: false };
      }
      if (outcome.conflict === 'idempotency') {
        // Another instance won the race for this key: its result is the result.
        const existing = await this.lookupIdempotent(idemKey!);
        if (existing) return existing;
      }
    }
    throw new IssuanceError('internal', 'could not store the certificate; try again');
  }

  private async sign(
    issuer: Issuer,
    serial: Buffer,
    validity: { notBefore: Date; notAfter: Date },
    t: CertificateTemplate,
    spki: Buffer,
    crlPartition: number,
    profile: Profile,
  ): Promise<Buffer> {
    const ocspNoCheck = profile.ocspNoCheck;
    const urls = issuerUrls(this.d.publicUrl, issuer.id, crlPartition);
    const subjectDer = encodeName(t.subject);
    const exts: Uint8Array[] = [x509ext.basicConstraints(t.basicConstraints.ca, t.basicConstraints.pathLength)];
    if (t.keyUsage.length) exts.push(x509ext.keyUsage(t.keyUsage));
    if (t.extendedKeyUsage.length) exts.push(x509ext.extKeyUsage(t.extendedKeyUsage));
    exts.push(x509ext.subjectKeyIdentifier(x509ext.keyIdentifier(spki)), x509ext.authorityKeyIdentifier(issuer.keyId));
    // RFC 5280 4.2.1.6: with an empty subject the SAN extension must be critical.
    if (t.sans.length) exts.push(x509ext.subjectAltName(t.sans, t.subject.length === 0));
    if (t.policies.length) exts.push(x509ext.certificatePolicies(t.policies));
    if (ocspNoCheck) {
      // A delegated responder is trusted for its lifetime: no status sources of its own to consult.
      exts.push(x509ext.ocspNoCheck(), x509ext.authorityInfoAccess({ caIssuers: [urls.caIssuers] }));
    } else {
      exts.push(
        x509ext.crlDistributionPoints([urls.crl]),
        x509ext.authorityInfoAccess({ ocsp: [urls.ocsp], caIssuers: [urls.caIssuers] }),
      );
    }
    const tbs = buildTbsCertificate({
      serial,
      signatureAlgorithm: issuer.signer.algorithmIdentifier,
      issuer: issuer.subjectDer,
      notBefore: validity.notBefore,
      notAfter: validity.notAfter,
      subject: subjectDer,
      spki,
      extensions: exts,
    });
    // Lint what is signed: the DER itself, decoded again, never the template it came from.
    lintTbsCertificate(tbs, {
      profile: profile.name,
      keyUsage: profile.keyUsage,
      extendedKeyUsage: t.extendedKeyUsage,
      tlsServer: isTlsServerProfile(profile, t.extendedKeyUsage),
      ca: profile.basicConstraints.ca,
      maxValiditySeconds: profile.validity.max + profile.validity.backdate,
      issuer: { notBefore: issuer.notBefore, notAfter: issuer.notAfter, keyId: issuer.keyId },
    });
    return assembleSigned(tbs, issuer.signer.algorithmIdentifier, await issuer.signer.sign(tbs));
  }

  private async pickIssuer(req: EnrollmentRequest, profile: Profile): Promise<Issuer> {
    const wanted = req.issuerId ?? profile.issuer;
    if (req.issuerId && profile.issuer && req.issuerId !== profile.issuer) {
      throw new ProfileViolation('issuer', `profile "${profile.name}" is signed by issuer "${profile.issuer}", not "${req.issuerId}"`);
    }
    const issuer = wanted ? await this.d.issuers.get(wanted) : this.d.issuers.defaultIssuer();
    if (!issuer) {
      // An issuer the client named and nobody has is the client's mistake; one the profile names is ours.
      if (req.issuerId && !profile.issuer) throw new IssuanceError('notFound', `unknown issuer "${req.issuerId}"`, 'issuer');
      throw new Unavailable(wanted ? `issuer "${wanted}" is not available` : 'no default issuer is configured');
    }
    // Offline-root practice: a root signs end-entity certificates only where a profile names it
    // (its own delegated OCSP responders and subordinate CAs excepted).
    if (issuer.isRoot && profile.issuer !== issuer.id && !profile.ocspNoCheck && !profile.basicConstraints.ca) {
      throw new ProfileViolation('issuer', `issuer "${issuer.id}" is a root CA; only a profile that names it may have it sign`);
    }
    if (issuer.status !== 'active') throw new Unavailable(`issuer "${issuer.id}" is retired`);
    if (issuer.notAfter.getTime() <= Date.now()) throw new Unavailable(`issuer "${issuer.id}" has expired`);
    return issuer;
  }

  private async findReplaced(req: EnrollmentRequest): Promise<{ row: CertRow; mode: 'renew' | 'rekey' }> {
    const r = req.replaces!;
    const serial = r.serial.toLowerCase().replace(/^0x/, '').replace(/:/g, '');
    const where = r.issuerId
      ? and(eq(certificates.serial, serial), eq(certificates.issuerId, r.issuerId))
      : eq(certificates.serial, serial);
    const rows = await this.d.db.select().from(certificates).where(where).limit(2);
    if (rows.length === 0) throw new NotFound(`no certificate with serial ${r.serial}`);
    if (rows.length > 1) throw new BadRequest(`serial ${r.serial} exists under several issuers; name the issuer`);
    const row = rows[0];
    if (row.status === 'revoked') throw new Conflict(`certificate ${r.serial} is revoked and cannot be ${r.mode === 'rekey' ? 're-keyed' : 'renewed'}`, 'replaces.revoked');
    return { row, mode: r.mode };
  }

  private async checkDuplicates(profile: Profile, spkiSha256: string, t: CertificateTemplate, exceptId?: string): Promise<void> {
    const live = (extra: ReturnType<typeof eq>) =>
      and(extra, eq(certificates.status, 'valid'), gt(certificates.notAfter, new Date()), exceptId ? ne(certificates.id, exceptId) : undefined);
    if (profile.duplicateKey === 'reject') {
      const [dup] = await this.d.db.select({ id: certificates.id }).from(certificates).where(live(eq(certificates.spkiSha256, spkiSha256))).limit(1);
      if (dup) throw new IssuanceError('duplicateKey', 'this public key is already certified in a valid certificate; use a new key', 'duplicateKey');
    }
    if (profile.duplicateSubject === 'reject') {
      const subject = formatName(t.subject.map((a) => ({ type: a.oid, value: a.value })));
      const [dup] = await this.d.db.select({ id: certificates.id }).from(certificates).where(live(eq(certificates.subject, subject))).limit(1);
      if (dup) throw new ProfileViolation('duplicateSubject', `a valid certificate for subject "${subject}" already exists`);
    }
  }

  // ── manual approval ─────────────────────────────────────────────────────────

  private async holdForApproval(req: EnrollmentRequest, idemKey: string | undefined, t: CertificateTemplate): Promise<IssuanceResult> {
    const id = randomUUID();
    const subject = formatName(t.subject.map((a) => ({ type: a.oid, value: a.value })));
    const inserted = await this.d.db
      .insert(pendingRequests)
      .values({
        id,
        profile: req.profile,
        protocol: req.principal.protocol,
        principal: req.principal.id,
        subject,
        request: serializeRequest(req),
        idempotencyKey: idemKey ?? null,
      })
      .onConflictDoNothing()
      .returning({ id: pendingRequests.id });
    if (inserted.length === 0 && idemKey) {
      const existing = await this.lookupIdempotent(idemKey);
      if (existing) return existing;
    }
    await this.d.audit.record({ actor: req.principal.id, action: 'request.pending', target: id, details: { profile: req.profile, subject } });
    return { status: 'pending', requestId: id, replayed: false };
  }

  /** The state of a request held for approval: pending, issued (with the certificate) or rejected. */
  async getRequest(requestId: string): Promise<IssuanceResult> {
    const [row] = await this.d.db.select().from(pendingRequests).where(eq(pendingRequests.id, requestId));
    if (!row) throw new NotFound(`no request ${requestId}`);
    return this.requestResult(row, false);
  }

  async listRequests(status?: string) {
    const q = this.d.db.select({
      id: pendingRequests.id,
      status: pendingRequests.status,
      profile: pendingRequests.profile,
      protocol: pendingRequests.protocol,
      principal: pendingRequests.principal,
      subject: pendingRequests.subject,
      certificateId: pendingRequests.certificateId,
      reason: pendingRequests.reason,
      decidedBy: pendingRequests.decidedBy,
      decidedAt: pendingRequests.decidedAt,
      createdAt: pendingRequests.createdAt,
    }).from(pendingRequests);
    return (status ? q.where(eq(pendingRequests.status, status)) : q).orderBy(pendingRequests.createdAt).limit(1000);
  }

  /** Approves a held request and issues it. Two officers approving at once issue once. */
  async approve(requestId: string, officer: string): Promise<IssuanceResult> {
    const claimed = await this.d.db
      .update(pendingRequests)
      .set({ status: 'approving', decidedBy: officer, decidedAt: new Date() })
      .where(and(eq(pendingRequests.id, requestId), eq(pendingRequests.status, 'pending')))
      .returning();
    if (claimed.length === 0) {
      const current = await this.getRequest(requestId);
      if (current.status === 'pending') throw new Conflict(`request ${requestId} is being approved`);
      throw new Conflict(`request ${requestId} is already ${current.status}`);
    }
    const row = claimed[0];
    try {
      const req = deserializeRequest(row.request);
      const result = await this.process(req, row.idempotencyKey ? `approved:${row.idempotencyKey}` : `approved:${row.id}`, row.id);
      if (result.status !== 'issued') throw new IssuanceError('internal', 'approval did not issue');
      await this.d.db
        .update(pendingRequests)
        .set({ status: 'issued', certificateId: result.certificate.id })
        .where(eq(pendingRequests.id, requestId));
      await this.d.audit.record({ actor: officer, action: 'request.approve', target: requestId, details: { certificate: result.certificate.id } });
      return result;
    } catch (e) {
      await this.d.db.update(pendingRequests).set({ status: 'pending', decidedBy: null, decidedAt: null }).where(eq(pendingRequests.id, requestId));
      throw e;
    }
  }

  async reject(requestId: string, officer: string, reason: string): Promise<IssuanceResult> {
    const r = await this.d.db
      .update(pendingRequests)
      .set({ status: 'rejected', reason, decidedBy: officer, decidedAt: new Date() })
      .where(and(eq(pendingRequests.id, requestId), eq(pendingRequests.status, 'pending')))
      .returning();
    if (r.length === 0) {
      const current = await this.getRequest(requestId);
      throw new Conflict(`request ${requestId} is already ${current.status}`);
    }
    await this.d.audit.record({ actor: officer, action: 'request.reject', target: requestId, details: { reason } });
    return { status: 'rejected', requestId, reason, replayed: false };
  }

  private async requestResult(row: typeof pendingRequests.$inferSelect, replayed: boolean): Promise<IssuanceResult> {
    if (row.status === 'rejected') return { status: 'rejected', requestId: row.id, reason: row.reason ?? 'rejected', replayed };
    if (row.status === 'issued' && row.certificateId) {
      const [cert] = await this.d.db.select().from(certificates).where(eq(certificates.id, row.certificateId));
      if (cert) return this.issuedResult(cert, replayed);
    }
    return { status: 'pending', requestId: row.id, replayed };
  }

  private async issuedResult(row: CertRow, replayed: boolean): Promise<IssuanceResult> {
    const issuer = await this.d.issuers.get(row.issuerId);
    return {
      status: 'issued',
      certificate: rowToIssued(row),
      chain: issuer?.chain ?? [],
      privateKey: row.privateKeySealed ? unseal(this.d.kek, row.privateKeySealed, `cert-key:${row.id}`) : undefined,
      replayed,
    };
  }
}

export function rowToIssued(row: CertRow): IssuedCertificate {
  return {
    id: row.id,
    issuerId: row.issuerId,
    serial: row.serial,
    der: Buffer.from(row.der),
    subject: row.subject,
    sans: row.sans.map((s) => {
      const i = s.indexOf(':');
      return { type: s.slice(0, i) as Identifier['type'], value: s.slice(i + 1) };
    }),
    notBefore: row.notBefore,
    notAfter: row.notAfter,
    profile: row.profile,
  };
}

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** A TLS server profile (the CA/B BR server rules apply): serverAuth alone, or serverAuth with SANs required. */
function isTlsServerProfile(profile: Profile, ekus: string[]): boolean {
  return ekus.includes(SERVER_AUTH) && (!ekus.includes(CLIENT_AUTH) || profile.san.required);
}

/** Idempotency keys are scoped per protocol and principal: two clients never collide. */
function idempotencyScope(req: EnrollmentRequest): string {
  return `${req.principal.protocol}:${req.principal.id}:${req.idempotencyKey}`;
}

function specToKeyInfo(spec: Extract<EnrollmentRequest['key'], { kind: 'generate' }>['spec']): KeyInfo {
  return spec.type === 'RSA' ? { type: 'RSA', bits: spec.bits } : spec.type === 'EC' ? { type: 'EC', curve: spec.curve } : { type: 'Ed25519' };
}

function serializeRequest(req: EnrollmentRequest): unknown {
  const key = req.key.kind === 'generate' ? req.key : { ...req.key, der: Buffer.from(req.key.der).toString('base64') };
  return { ...req, key };
}

function deserializeRequest(json: unknown): EnrollmentRequest {
  const r = json as EnrollmentRequest & { key: { kind: string; der?: string } };
  const key = r.key.kind === 'generate' ? r.key : { ...r.key, der: Buffer.from(r.key.der as string, 'base64') };
  return { ...r, key: key as EnrollmentRequest['key'] };
}
