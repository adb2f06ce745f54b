/**
 * eSign signers: an application registers a signer under its own unique id; Certgate generates
 * the signer's key in the key store (sealed, or in the HSM when one is configured), and issues a
 * certificate from the eSign profile through the pipeline. The key never leaves the key store.
 */
import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { KeySpec, SubjectAttribute } from '../../../src/issuance/request.ts';
import { parseCertificate } from '../../../src/pki/certificate.ts';
import { parseDn } from '../../../src/pki/name.ts';
import type { ProtocolContext } from '../../../src/protocol-context.ts';
import { EmcaFailure, M } from '../messages.ts';
import type { Caller, EmcaService } from '../service.ts';
import { emcaEsignSigners, type EmcaEsignSignerRow } from './schema.ts';

export const SIGNER_ID = /^[A-Za-z0-9._@:-]{1,128}$/;

const keySpecs: Record<string, KeySpec> = {
  'EC-P256': { type: 'EC', curve: 'P-256' },
  'EC-P384': { type: 'EC', curve: 'P-384' },
  'RSA-2048': { type: 'RSA', bits: 2048 },
  'RSA-3072': { type: 'RSA', bits: 3072 },
  'RSA-4096': { type: 'RSA', bits: 4096 },
};

export interface RegisterInput {
  signerId: string;
  subject: string;
  keyAlgorithm?: string;
  email?: string;
  validity?: string;
}

export interface SignerView {
  signerId: string;
  serialNumber: string;
  issuerId: string;
  subject: string;
  notAfter: string;
  certificate: string;
}

export class SignerStore {
  constructor(
    private readonly ctx: ProtocolContext,
    private readonly svc: EmcaService,
    private readonly profile: string,
  ) {}

  async find(caller: Caller, signerId: string): Promise<EmcaEsignSignerRow | undefined> {
    if (!SIGNER_ID.test(signerId)) throw new EmcaFailure(M.invalidParameter);
    const [row] = await this.ctx.store.db
      .select()
      .from(emcaEsignSigners)
      .where(and(eq(emcaEsignSigners.clientId, caller.client.id), eq(emcaEsignSigners.signerId, signerId)));
    return row;
  }

  async view(row: EmcaEsignSignerRow): Promise<SignerView> {
    const cert = await this.ctx.certificates.byId(row.certificateId);
    if (!cert) throw new EmcaFailure(M.notFound);
    return {
      signerId: row.signerId,
      serialNumber: row.serial.replace(/^(00)+/, ''),
      issuerId: row.issuerId,
      subject: cert.subject,
      notAfter: cert.notAfter.toISOString(),
      certificate: Buffer.from(cert.der).toString('base64'),
    };
  }

  /** Registers a signer (idempotent per signerId): key in the key store, certificate from the eSign profile. */
  async register(caller: Caller, input: RegisterInput): Promise<{ row: EmcaEsignSignerRow; created: boolean }> {
    if (!SIGNER_ID.test(input.signerId)) throw new EmcaFailure(M.invalidParameter);
    const existing = await this.find(caller, input.signerId);
    if (existing) return { row: existing, created: false };
    const spec = keySpecs[(input.keyAlgorithm ?? 'EC-P256').toUpperCase()];
    if (!spec) throw new EmcaFailure(M.invalidKey);
    let subject: SubjectAttribute[];
    try {
      subject = parseDn(input.subject);
    } catch {
      throw new EmcaFailure(M.invalidSubject);
    }
    const key = await this.ctx.keys.generate(spec, 'esign-signer');
    const spki = key.signer.publicKey.export({ format: 'der', type: 'spki' });
    const o = await this.svc.issue(caller, {
      profile: this.profile,
      profileBy: 'name',
      key: { kind: 'spki', der: spki, pop: 'verified-by-protocol' },
      subject,
      sans: input.email ? [{ type: 'email', value: input.email }] : [],
      validity: input.validity ? { duration: input.validity } : undefined,
      applicationId: `esign-signer:${input.signerId}`,
      subscriberId: input.signerId,
      format: 'cer',
      noManual: true,
    });
    if (o.kind !== 'issued') throw new EmcaFailure(M.manualNotSupported);
    // A replayed applicationId may carry another key (a concurrent registration won): keep the winner's row.
    if (!Buffer.from(parseCertificate(Buffer.from(o.artefact, 'base64')).spki).equals(spki)) {
      const winner = await this.find(caller, input.signerId);
      if (winner) return { row: winner, created: false };
      throw new EmcaFailure(M.invalidParameter);
    }
    const row: EmcaEsignSignerRow = {
      id: randomUUID(),
      clientId: caller.client.id,
      signerId: input.signerId,
      keyRef: key.keyRef,
      certificateId: o.certificateId,
      issuerId: o.issuerId,
      serial: o.serial,
      disabled: 0,
      createdAt: new Date(),
    };
    const inserted = await this.ctx.store.db.insert(emcaEsignSigners).values(row).onConflictDoNothing().returning();
    if (inserted.length === 0) return { row: (await this.find(caller, input.signerId))!, created: false };
    await this.ctx.audit.record({
      actor: caller.principal.id,
      action: 'emca.esign.signer-registered',
      target: `${o.issuerId}:${o.serial}`,
      details: { signerId: input.signerId, keyRef: key.keyRef, keyAlgorithm: key.signer.keyAlgorithm },
    });
    return { row: inserted[0], created: true };
  }
}
