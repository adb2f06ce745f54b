/**
 * The emCA operations, shared by the V4 envelope API and the V5 JSON API: issuance through the
 * pipeline (with artefacts in the format each method returns), the CMS signer check, certificate
 * look-ups scoped to the calling client, lifecycle changes through ctx.revocation, profile ids.
 */
import { randomUUID, timingSafeEqual, createPublicKey, type KeyObject } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import { isIssuanceError } from '../../src/issuance/errors.ts';
import type { EnrollmentRequest, Identifier, IssuanceResult, Principal, SubjectAttribute, ValidityRequest } from '../../src/issuance/request.ts';
import { normaliseSerial } from '../../src/issuance/revocation.ts';
import { parseCertificate } from '../../src/pki/certificate.ts';
import { buildCertsOnly, canonicalSerial, parseSignedData, verifySigner } from '../../src/pki/cms-signed-data.ts';
import { decodeName, parseDn } from '../../src/pki/name.ts';
import { parseCsr } from '../../src/pki/csr.ts';
import { checkKey, enforceProfile } from '../../src/profiles/enforce.ts';
import { parseDateTime, resolveValidity } from '../../src/issuance/validity.ts';
import { buildPkcs12 } from '../../src/pki/pkcs12.ts';
import type { Profile } from '../../src/profiles/model.ts';
import { decodeB64, emcaDate, secondsToDhms } from './fields.ts';
import { badProfile, mapIssuanceError } from './failures.ts';
import { EmcaFailure, M, profileNotExist } from './messages.ts';
import { emcaPfx, emcaProfileIds, emcaTransactions, type EmcaClientRow, type EmcaTransactionRow } from './schema.ts';

export type Format = 'cer' | 'p7b' | 'pfx';

export interface Caller {
  client: EmcaClientRow;
  principal: Principal;
}

export function principalFor(client: EmcaClientRow, by: Principal['authenticatedBy']): Principal {
  return {
    id: `emca:client:${client.id}`,
    protocol: 'emca',
    authenticatedBy: by,
    allowedProfiles: client.allowedProfiles.length ? client.allowedProfiles : undefined,
  };
}

export interface IssueSpec {
  profile: string;
  /** Which field named the profile: decides "Invalid Certificate Profile" vs "<id> profile does not exist". */
  profileBy: 'name' | 'id';
  /** The profile reference as the client sent it (echoed in "<id> profile does not exist"). */
  profileRef?: string;
  key: EnrollmentRequest['key'];
  subject?: SubjectAttribute[];
  sans?: Identifier[];
  validity?: ValidityRequest;
  applicationId: string;
  itemId?: string;
  subscriberId?: string;
  format: Format;
  pfxPassword?: string;
  replaces?: { serial: string; issuerId: string };
  /** createeSignCustomCertificateById: a profile with manual authorization is refused. */
  noManual?: boolean;
  /** Subject and SANs came from subjectDNOids / sANValues (decides which error string). */
  custom?: boolean;
}

/** A requested validity that was shortened: to the profile maximum or to the issuing CA's end. */
export interface ClampNotice {
  /** The certificate's notAfter, `dd:MM:yyyy HH:mm:ss` (UTC). */
  notAfter: string;
  /** The notAfter the request asked for. */
  requested: string;
  limit: 'profile maximum' | 'issuing CA validity';
}

export type IssueOutcome =
  | { kind: 'issued'; artefact: string; serial: string; issuerId: string; certificateId: string; replayed: boolean; clamped?: ClampNotice }
  | { kind: 'pending'; requestId: string }
  | { kind: 'rejected'; requestId: string };

const sealPfxPassword = (txId: string) => `emca-pfx-password:${txId}`;
const pfxPurpose = (certId: string) => `emca-pfx:${certId}`;
const pinPurpose = (certId: string) => `emca-pfx-pin:${certId}`;
/** RFC 5280 CRLReason superseded. */
const SUPERSEDED = 4;

export class EmcaService {
  constructor(readonly ctx: ProtocolContext) {}

  // ── signature ─────────────────────────────────────────────────────────────

  /**
   * Verifies a request `signature` (base64 CMS SignedData, BER accepted, content attached) and
   * returns its content. The signer must be the client's registered signing certificate, valid
   * now and not revoked or suspended. Every failure is "Signature verification failed".
   */
  async verifyClientSignature(client: EmcaClientRow & { signingStatus?: string | null }, signatureB64: unknown): Promise<Buffer> {
    const fail = (why: string): never => {
      this.ctx.log.info({ client: client.id, why }, 'emca: signature refused');
      throw new EmcaFailure(M.signatureFailed);
    };
    if (typeof signatureB64 !== 'string' || signatureB64.trim() === '') throw new EmcaFailure(M.invalidParameter);
    const der = decodeB64(signatureB64);
    if (!der) return fail('signature is not base64');
    let sd;
    try {
      sd = parseSignedData(der);
    } catch (e) {
      return fail((e as Error).message);
    }
    if (sd.signers.length !== 1) return fail(`${sd.signers.length} signers`);
    if (!sd.content) return fail('detached signature');
    if (!client.signingCertificateId) return fail('client has no signing certificate');
    // The certificate (immutable) is cached; its status is read on every call so a revocation counts at once.
    const [row] =
      client.signingStatus !== undefined
        ? client.signingStatus === null
          ? []
          : [{ status: client.signingStatus }]
        : await this.ctx.certificates.byId(client.signingCertificateId).then((c) => (c ? [c] : []));
    if (!row) return fail('signing certificate not found');
    const signing = await this.signingCert(client.signingCertificateId);
    if (!signing) return fail('signing certificate not found');
    const { cert, key } = signing;
    const signer = sd.signers[0];
    if (signer.sid.kind === 'issuerAndSerial') {
      if (signer.sid.serialHex !== canonicalSerial(cert.serialHex) || !signer.sid.issuer.equals(Buffer.from(cert.issuer))) return fail('signer is not the registered certificate');
    } else if (!cert.ski || !cert.ski.equals(signer.sid.keyId)) return fail('signer key id is not the registered certificate');
    let ok = false;
    try {
      ok = verifySigner(sd, 0, key).ok;
    } catch (e) {
      return fail((e as Error).message);
    }
    if (!ok) return fail('bad signature');
    const now = Date.now();
    if (cert.notAfter.getTime() <= now || cert.notBefore.getTime() > now) return fail('signing certificate expired or not yet valid');
    if (row.status !== 'valid') return fail(`signing certificate is ${row.status}`);
    return sd.content;
  }

  private readonly signingCache = new Map<string, { cert: ReturnType<typeof parseCertificate>; key: KeyObject }>();

  private async signingCert(id: string) {
    const hit = this.signingCache.get(id);
    if (hit) return hit;
    const row = await this.ctx.certificates.byId(id);
    if (!row) return undefined;
    const cert = parseCertificate(row.der);
    const entry = { cert, key: createPublicKey({ key: Buffer.from(cert.spki), format: 'der', type: 'spki' }) };
    if (this.signingCache.size > 10_000) this.signingCache.clear();
    this.signingCache.set(id, entry);
    return entry;
  }

  /**
   * verifySignature: any CMS SignedData whose signer certificate (embedded) chains to one of
   * Certgate's issuers, is within its validity and not revoked.
   */
  async verifyAnySignature(signatureB64: unknown): Promise<void> {
    if (typeof signatureB64 !== 'string' || signatureB64.trim() === '') throw new EmcaFailure(M.invalidParameter);
    const der = decodeB64(signatureB64);
    if (!der) throw new EmcaFailure(M.signatureFailed);
    let sd;
    try {
      sd = parseSignedData(der);
    } catch {
      throw new EmcaFailure(M.signatureFailed);
    }
    if (sd.signers.length !== 1 || !sd.content) throw new EmcaFailure(M.signatureFailed);
    const verified = verifySigner(sd, 0);
    if (!verified.ok || !verified.certDer) throw new EmcaFailure(M.signatureFailed);
    const cert = parseCertificate(verified.certDer);
    const issuer = await this.ctx.issuers.issuerOf(verified.certDer);
    if (!issuer) throw new EmcaFailure(M.untrusted);
    const now = Date.now();
    if (cert.notAfter.getTime() <= now || cert.notBefore.getTime() > now) throw new EmcaFailure(M.certExpired);
    const row = await this.ctx.certificates.statusBySerial(issuer.id, cert.serialHex);
    if (!row) throw new EmcaFailure(M.untrusted);
    if (row.status !== 'valid') throw new EmcaFailure(M.certRevoked);
  }

  // ── profiles ──────────────────────────────────────────────────────────────

  /** Gives every profile a numeric id (first sight), returns name → id. */
  async profileIds(): Promise<Map<string, number>> {
    const profiles = await this.ctx.profiles.list();
    let rows = await this.ctx.store.db.select().from(emcaProfileIds);
    const known = new Set(rows.map((r) => r.profile));
    const missing = profiles.filter((p) => !known.has(p.name));
    if (missing.length) {
      await this.ctx.store.db.insert(emcaProfileIds).values(missing.map((p) => ({ profile: p.name }))).onConflictDoNothing();
      rows = await this.ctx.store.db.select().from(emcaProfileIds);
    }
    return new Map(rows.map((r) => [r.profile, r.id]));
  }

  /** `ProfileID` → profile name: a numeric id, or (Certgate extension) the profile's name. */
  async profileById(value: unknown): Promise<string> {
    const s = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
    if (!s) throw new EmcaFailure(M.invalidParameter);
    const missing = new EmcaFailure(profileNotExist(s));
    if (/^\d+$/.test(s)) {
      // Beyond the integer column: no such id (and not a database error).
      if (Number(s) > 2147483647) throw missing;
      const [row] = await this.ctx.store.db.select().from(emcaProfileIds).where(eq(emcaProfileIds.id, Number(s)));
      if (row) return row.profile;
      const ids = await this.profileIds();
      for (const [name, id] of ids) if (id === Number(s)) return name;
      throw missing;
    }
    if (await this.ctx.profiles.get(s)) return s;
    throw missing;
  }

  async profileVisible(caller: Caller, name: string): Promise<Profile | undefined> {
    const p = await this.ctx.profiles.get(name);
    if (!p || !p.enabled || p.audience === 'system') return undefined;
    if (caller.client.allowedProfiles.length && !caller.client.allowedProfiles.includes(name)) return undefined;
    return p;
  }

  async profileInfo(caller: Caller, name: string, by: 'name' | 'id' = 'name', ref = name): Promise<Record<string, unknown>> {
    const p = await this.profileVisible(caller, name);
    if (!p) throw new EmcaFailure(by === 'id' ? profileNotExist(ref) : M.invalidProfileName);
    const ids = await this.profileIds();
    const keyAlgorithms: string[] = [];
    if (p.keys.rsa) keyAlgorithms.push(`RSA-${p.keys.rsa.minBits}..${p.keys.rsa.maxBits}`);
    for (const c of p.keys.ec?.curves ?? []) keyAlgorithms.push(`EC-${c}`);
    if (p.keys.ed25519) keyAlgorithms.push('Ed25519');
    const issuer = p.issuer ? await this.ctx.issuers.get(p.issuer) : this.ctx.issuers.default();
    return {
      profileId: String(ids.get(p.name) ?? ''),
      profileName: p.name,
      description: p.description,
      issuingCA: issuer?.name ?? null,
      validity: secondsToDhms(p.validity.default),
      maxValidity: secondsToDhms(p.validity.max),
      keyAlgorithms,
      keyUsage: p.keyUsage,
      extendedKeyUsage: p.extendedKeyUsage,
      supportCustomizedValidity: p.validity.allowCustom,
      manualAuthorization: p.manualApproval,
    };
  }

  async profileList(caller: Caller, caName: string): Promise<{ profileId: string; profileName: string }[]> {
    const issuer = this.issuerByName(caName);
    if (!issuer) throw new EmcaFailure(M.invalidCaName);
    const ids = await this.profileIds();
    const def = this.ctx.issuers.default();
    const out: { profileId: string; profileName: string }[] = [];
    for (const p of await this.ctx.profiles.list()) {
      if (!p.enabled || p.basicConstraints.ca || p.audience === 'system') continue;
      if ((p.issuer ?? def?.id) !== issuer.id) continue;
      if (caller.client.allowedProfiles.length && !caller.client.allowedProfiles.includes(p.name)) continue;
      out.push({ profileId: String(ids.get(p.name)), profileName: p.name });
    }
    return out;
  }

  /**
   * A CA named as clients name it: its display name, id, full subject DN (RFC 4514 or `/`-form,
   * attribute order as Certgate prints it or as in the certificate), or its certificate's CN.
   */
  issuerByName(ref: string) {
    const all = this.ctx.issuers.list();
    const exact = all.find((i) => i.name === ref || i.id === ref || i.subject === ref);
    if (exact) return exact;
    let wanted: string | undefined;
    try {
      wanted = dnKey(parseDn(ref));
    } catch {
      wanted = undefined;
    }
    const byCn = all.filter((i) => {
      const attrs = decodeName(parseCertificate(i.certDer).subject);
      if (wanted && (dnKey(attrs) === wanted || dnKey([...attrs].reverse()) === wanted)) return true;
      return attrs.some((a) => (a.type === 'CN' || a.type === '2.5.4.3') && a.value === ref);
    });
    // A CN shared by two CAs names neither.
    return byCn.length === 1 ? byCn[0] : undefined;
  }

  // ── issuance ──────────────────────────────────────────────────────────────

  async issue(caller: Caller, spec: IssueSpec): Promise<IssueOutcome> {
    const profile = await this.ctx.profiles.get(spec.profile);
    const refused = badProfile({ profileBy: spec.profileBy, profileRef: spec.profileRef ?? spec.profile });
    if (!profile || !profile.enabled) throw new EmcaFailure(refused);
    if (caller.client.allowedProfiles.length && !caller.client.allowedProfiles.includes(profile.name)) throw new EmcaFailure(refused);
    if (spec.noManual && profile.manualApproval) throw new EmcaFailure(M.manualNotSupported);
    const printable = /^[\x20-\x7e\u00a0-\uffff]{1,200}$/;
    if (!printable.test(spec.applicationId) || (spec.subscriberId !== undefined && spec.subscriberId !== '' && !printable.test(spec.subscriberId))) {
      throw new EmcaFailure(M.invalidParameter);
    }
    if (spec.validity && !profile.validity.allowCustom) {
      this.ctx.log.warn({ profile: profile.name, client: caller.client.id }, 'emca: custom validity ignored (the profile does not support customized validity)');
    }
    const idem = spec.itemId ? `${spec.applicationId}|${spec.itemId}` : spec.applicationId;
    let result: IssuanceResult;
    try {
      result = await this.ctx.pipeline.issue({
        principal: caller.principal,
        profile: spec.profile,
        key: spec.key,
        subject: spec.subject,
        sans: spec.sans,
        validity: spec.validity,
        idempotencyKey: idem,
        replaces: spec.replaces ? { ...spec.replaces, mode: 'rekey' } : undefined,
        metadata: { subscriberId: spec.subscriberId ?? null, applicationId: spec.applicationId, itemId: spec.itemId ?? null, emcaClient: caller.client.id },
      });
    } catch (e) {
      throw mapIssuanceError(e, { ...spec, profileRef: spec.profileRef ?? spec.profile }, this.ctx);
    }
    if (result.status === 'pending') {
      await this.recordTransaction(caller, spec, result.requestId);
      return { kind: 'pending', requestId: result.requestId };
    }
    if (result.status === 'rejected') return { kind: 'rejected', requestId: result.requestId };
    const artefact = await this.artefact(caller, result, spec.format, spec.pfxPassword);
    if (spec.replaces && !result.replayed) await this.retireReplaced(caller, spec.replaces);
    return {
      kind: 'issued',
      artefact,
      serial: result.certificate.serial,
      issuerId: result.certificate.issuerId,
      certificateId: result.certificate.id,
      replayed: result.replayed,
      clamped: spec.validity && profile?.validity.allowCustom ? this.clampNotice(profile, spec.validity, result.certificate) : undefined,
    };
  }

  /**
   * Whether the certificate ends before the end the request asked for (the pipeline shortens a
   * custom validity to the profile maximum and to the issuing CA's end). The requested end is
   * recomputed with the same rules and no limits, counting a duration from the requested start
   * or from the issuance time (the certificate's notBefore plus the profile's backdating).
   */
  private clampNotice(profile: Profile, v: ValidityRequest, cert: { notBefore: Date; notAfter: Date; issuerId: string }): ClampNotice | undefined {
    const now = v.notBefore !== undefined ? parseDateTime(v.notBefore) : new Date(cert.notBefore.getTime() + profile.validity.backdate * 1000);
    let wanted: Date;
    try {
      wanted = resolveValidity({ ...profile.validity, max: Number.MAX_SAFE_INTEGER / 2000 }, v, { now, issuerNotBefore: new Date(0), issuerNotAfter: new Date(8.64e15) }).notAfter;
    } catch {
      return undefined;
    }
    if (cert.notAfter.getTime() >= wanted.getTime() - 2000) return undefined;
    const issuer = this.ctx.issuers.list().find((i) => i.id === cert.issuerId);
    const atCa = issuer !== undefined && Math.abs(issuer.notAfter.getTime() - cert.notAfter.getTime()) < 2000;
    return { notAfter: emcaDate(cert.notAfter), requested: emcaDate(wanted), limit: atCa ? 'issuing CA validity' : 'profile maximum' };
  }

  /**
   * Checks requests against the profile without issuing (all-or-nothing batches): the profile's
   * audience and the caller's allow-list, each CSR's key, subject and SANs, the validity against
   * the issuing CA, and duplicates the profile forbids inside the batch. The same pure rules the
   * pipeline applies (src/profiles/enforce.ts, src/issuance/validity.ts); refusals map as there.
   */
  async preflight(caller: Caller, spec: Omit<IssueSpec, 'key'>, csrs: Buffer[]): Promise<void> {
    const profile = await this.ctx.profiles.get(spec.profile);
    const refused = badProfile({ profileBy: spec.profileBy, profileRef: spec.profileRef ?? spec.profile });
    if (!profile || !profile.enabled || profile.audience === 'system') throw new EmcaFailure(refused);
    if (caller.client.allowedProfiles.length && !caller.client.allowedProfiles.includes(profile.name)) throw new EmcaFailure(refused);
    const issuer = profile.issuer ? this.ctx.issuers.list().find((i) => i.id === profile.issuer) : this.ctx.issuers.default();
    if (!issuer) throw new EmcaFailure(M.internal, 503);
    const keys = new Set<string>();
    const subjects = new Set<string>();
    const mapSpec = { ...spec, key: { kind: 'csr' as const, der: new Uint8Array() }, profileRef: spec.profileRef ?? spec.profile };
    for (const der of csrs) {
      try {
        const csr = parseCsr(der);
        checkKey(profile, csr.key);
        const t = enforceProfile(profile, { subject: spec.subject ?? csr.subject, sans: spec.sans ?? csr.sans, key: csr.key });
        resolveValidity(profile.validity, spec.validity, { now: new Date(), issuerNotBefore: issuer.notBefore, issuerNotAfter: issuer.notAfter });
        const spki = Buffer.from(csr.spki).toString('base64');
        if (profile.duplicateKey === 'reject' && keys.has(spki)) throw new EmcaFailure(M.invalidParameter);
        const subj = JSON.stringify(t.subject);
        if (profile.duplicateSubject === 'reject' && subjects.has(subj)) throw new EmcaFailure(M.invalidData);
        keys.add(spki);
        subjects.add(subj);
      } catch (e) {
        throw mapIssuanceError(e, mapSpec, this.ctx);
      }
    }
  }

  private async recordTransaction(caller: Caller, spec: IssueSpec, requestId: string): Promise<void> {
    const id = randomUUID();
    await this.ctx.store.db
      .insert(emcaTransactions)
      .values({
        id,
        clientId: caller.client.id,
        applicationId: spec.applicationId,
        itemId: spec.itemId ?? '',
        format: spec.format,
        requestId,
        subscriberId: spec.subscriberId ?? null,
        pfxPasswordSealed: spec.pfxPassword !== undefined ? this.ctx.secrets.seal(sealPfxPassword(id), Buffer.from(spec.pfxPassword, 'utf8')) : null,
        replacesSerial: spec.replaces?.serial ?? null,
        replacesIssuerId: spec.replaces?.issuerId ?? null,
      })
      .onConflictDoNothing();
  }

  /** The rekeyed certificate is superseded once its replacement exists. */
  private async retireReplaced(caller: Caller, r: { serial: string; issuerId: string }): Promise<void> {
    const row = await this.ctx.certificates.statusBySerial(r.issuerId, r.serial);
    if (!row || row.status === 'revoked') return;
    await this.ctx.revocation.revoke(r.issuerId, r.serial, SUPERSEDED, caller.principal.id).catch(() => {});
  }

  /** The artefact of an issued result in the method's format; a PFX is kept (sealed) and the same one returned again. */
  async artefact(caller: Caller, result: Extract<IssuanceResult, { status: 'issued' }>, format: Format, pfxPassword?: string): Promise<string> {
    const cert = result.certificate;
    if (format === 'cer') return Buffer.from(cert.der).toString('base64');
    if (format === 'p7b') return buildCertsOnly([cert.der, ...result.chain]).toString('base64');
    const [stored] = await this.ctx.store.db.select().from(emcaPfx).where(eq(emcaPfx.certificateId, cert.id));
    if (stored) return this.ctx.secrets.unseal(pfxPurpose(cert.id), stored.pfxSealed).toString('base64');
    // The applicationId was already used for a certificate from a CSR: there is no key to put in a PFX.
    if (!result.privateKey || pfxPassword === undefined) throw new EmcaFailure(M.invalidParameter);
    const encryption = caller.client.legacyPfx ? 'legacy' : 'aes';
    const pfx = await buildPkcs12({
      privateKey: result.privateKey,
      certificate: cert.der,
      chain: result.chain,
      password: pfxPassword,
      friendlyName: cert.subject.slice(0, 64),
      encryption,
    });
    await this.ctx.store.db
      .insert(emcaPfx)
      .values({
        certificateId: cert.id,
        clientId: caller.client.id,
        issuerId: cert.issuerId,
        serial: cert.serial,
        pfxSealed: this.ctx.secrets.seal(pfxPurpose(cert.id), pfx),
        passwordSealed: this.ctx.secrets.seal(pinPurpose(cert.id), Buffer.from(pfxPassword, 'utf8')),
        encryption,
      })
      .onConflictDoNothing();
    const [winner] = await this.ctx.store.db.select().from(emcaPfx).where(eq(emcaPfx.certificateId, cert.id));
    return this.ctx.secrets.unseal(pfxPurpose(cert.id), winner.pfxSealed).toString('base64');
  }

  /** getCertificateByRequestID: the state of a request this client made. */
  async byRequestId(caller: Caller, requestId: string): Promise<{ state: 'pending' } | { state: 'rejected' } | { state: 'issued'; artefact: string; subscriberId: string | null }> {
    const [tx] = await this.ctx.store.db
      .select()
      .from(emcaTransactions)
      .where(and(eq(emcaTransactions.requestId, requestId), eq(emcaTransactions.clientId, caller.client.id)));
    if (!tx) throw new EmcaFailure(M.invalidRequestId);
    let r: IssuanceResult;
    try {
      r = await this.ctx.pipeline.getRequest(requestId);
    } catch {
      throw new EmcaFailure(M.invalidRequestId);
    }
    if (r.status === 'pending') return { state: 'pending' };
    if (r.status === 'rejected') return { state: 'rejected' };
    const pw = tx.pfxPasswordSealed ? this.ctx.secrets.unseal(sealPfxPassword(tx.id), tx.pfxPasswordSealed).toString('utf8') : undefined;
    const artefact = await this.artefact(caller, r, tx.format as Format, pw);
    if (tx.replacesSerial && tx.replacesIssuerId) await this.retireReplaced(caller, { serial: tx.replacesSerial, issuerId: tx.replacesIssuerId });
    return { state: 'issued', artefact, subscriberId: tx.subscriberId };
  }

  async transactionsByRequest(caller: Caller, requestId: string): Promise<EmcaTransactionRow | undefined> {
    const [tx] = await this.ctx.store.db
      .select()
      .from(emcaTransactions)
      .where(and(eq(emcaTransactions.requestId, requestId), eq(emcaTransactions.clientId, caller.client.id)));
    return tx;
  }

  // ── certificates of the caller ────────────────────────────────────────────

  async ownCertificate(caller: Caller, serialText: string) {
    let serial: string;
    try {
      serial = normaliseSerial(serialText);
    } catch {
      throw new EmcaFailure(M.notFound);
    }
    // Java BigInteger.toString(16) drops leading zeros: match on the canonical form.
    const candidates = [serial, serial.replace(/^(00)+/, ''), '00' + serial.replace(/^(00)+/, '')];
    const rows = await this.ctx.certificates.ofPrincipal(caller.principal.id, { serials: [...new Set(candidates)], limit: 2 });
    if (rows.length !== 1) throw new EmcaFailure(M.notFound);
    return rows[0];
  }

  async chainFor(issuerId: string): Promise<Buffer[]> {
    return (await this.ctx.issuers.get(issuerId))?.chain ?? [];
  }

  async revoke(caller: Caller, serial: string, reason: number) {
    const row = await this.ownCertificate(caller, serial);
    if (row.status === 'revoked') throw new EmcaFailure(M.alreadyRevoked);
    try {
      await this.ctx.revocation.revoke(row.issuerId, row.serial, reason, caller.principal.id);
    } catch (e) {
      if (isIssuanceError(e) && e.code === 'conflict') throw new EmcaFailure(M.alreadyRevoked);
      throw e;
    }
    return row;
  }

  async suspend(caller: Caller, serial: string) {
    const row = await this.ownCertificate(caller, serial);
    if (row.status !== 'valid') throw new EmcaFailure(M.notActive);
    try {
      await this.ctx.revocation.suspend(row.issuerId, row.serial, caller.principal.id);
    } catch (e) {
      if (isIssuanceError(e) && e.code === 'conflict') throw new EmcaFailure(M.notActive);
      throw e;
    }
    return row;
  }

  async reinstate(caller: Caller, serial: string) {
    const row = await this.ownCertificate(caller, serial);
    if (row.status !== 'hold') throw new EmcaFailure(M.notSuspended);
    try {
      await this.ctx.revocation.reinstate(row.issuerId, row.serial, caller.principal.id);
    } catch (e) {
      if (isIssuanceError(e) && e.code === 'conflict') throw new EmcaFailure(M.notSuspended);
      throw e;
    }
    return row;
  }

  /** The subject and SANs of a certificate being re-keyed (the new one keeps them). */
  subjectOf(der: Uint8Array): { subject: SubjectAttribute[]; sans: Identifier[] } {
    const c = parseCertificate(der);
    return { subject: decodeName(c.subject), sans: c.sans };
  }

  async expiringSoon(caller: Caller, days: number, subscriberId?: string) {
    const now = new Date();
    const until = new Date(now.getTime() + days * 86400_000);
    const rows = (
      await this.ctx.certificates.ofPrincipal(caller.principal.id, {
        status: 'valid',
        notAfterFrom: now,
        notAfterTo: until,
        metadata: subscriberId ? { subscriberId } : undefined,
      })
    ).filter((r) => r.notAfter.getTime() > now.getTime());
    return rows.map((r) => ({
      serialNumber: canonicalSerial(r.serial),
      notAfter: emcaDate(r.notAfter),
      subscriberId: ((r.metadata as Record<string, unknown>)?.subscriberId as string | null) ?? null,
    }));
  }

  /** getPKCS12: the kept PFX of one of the caller's certificates, when the PIN matches. */
  async storedPfx(caller: Caller, serial: string, pin: string): Promise<string> {
    const row = await this.ownCertificate(caller, serial);
    const [p] = await this.ctx.store.db.select().from(emcaPfx).where(eq(emcaPfx.certificateId, row.id));
    if (!p || p.clientId !== caller.client.id) throw new EmcaFailure(M.notFound);
    const expected = this.ctx.secrets.unseal(pinPurpose(row.id), p.passwordSealed);
    const given = Buffer.from(pin, 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new EmcaFailure(M.invalidPfxPassword);
    return this.ctx.secrets.unseal(pfxPurpose(row.id), p.pfxSealed).toString('base64');
  }
}

/** A DN compared by attribute types (case-insensitive) and values. */
function dnKey(attrs: SubjectAttribute[]): string {
  return attrs.map((a) => `${a.type.toUpperCase()}=${a.value}`).join('\u0000');
}
