/**
 * eSign requests: the application submits what to sign for one of its signers; Certgate sends a
 * one-time code to the signer (webhook gateway or an operator); the signer's code, relayed by the
 * application, authorises exactly one signature. Expiry, an attempts limit, constant-time compare,
 * and an audit record for every signature and every refused code.
 */
import { createHash, randomUUID } from 'node:crypto';
import { and, eq, gt, isNotNull, lt, sql } from 'drizzle-orm';
import type { ProtocolContext } from '../../../src/protocol-context.ts';
import { EmcaFailure, M } from '../messages.ts';
import type { Caller } from '../service.ts';
import { CodeBox, deliverByWebhook } from './codes.ts';
import { PdfError } from './pdf-syntax.ts';
import { preparePdf } from './pdf-signature.ts';
import { emcaEsignRequests, emcaEsignSigners, type EmcaEsignRequestRow, type EmcaEsignSignerRow } from './schema.ts';
import type { EsignSettings } from './settings.ts';
import { hashLengths, signHash, signPdf, type HashName } from './sign.ts';
import type { SignerStore } from './signers.ts';

/** eSign result strings (the documents give none for eSign; these follow the §4.9 style). */
export const E = {
  unknownSigner: 'Signer not found',
  signerInactive: 'Signer certificate is not active',
  invalidHash: 'Invalid document hash',
  invalidDocument: 'Invalid PDF document',
  invalidXml: 'Invalid XML document',
  documentTooLarge: 'Document too large',
  unknownRequest: 'Signing request not found',
  expired: 'Signing request expired',
  locked: 'Signing request locked: too many wrong codes',
  done: 'Signing request already completed',
  wrongCode: 'Invalid authorisation code',
  deliveryFailed: 'Authorisation code could not be delivered',
  tooMany: 'Too many pending signing requests for this signer',
} as const;

/** Open requests per signer: each one sends the signer a code, so an application cannot flood them. */
const MAX_PENDING_PER_SIGNER = 10;

export type SubmitInput =
  | { kind: 'hash'; signerId: string; hash: HashName; digest: Buffer }
  | { kind: 'pdf'; signerId: string; document: Buffer };

export interface Submitted {
  requestId: string;
  expiresAt: Date;
  channel: 'webhook' | 'operator';
}

export type Signed = { kind: 'cms'; signature: Buffer; serial: string; signedAt: Date } | { kind: 'pdf'; document: Buffer; serial: string; signedAt: Date };

export class EsignService {
  private readonly codes: CodeBox;
  constructor(
    private readonly ctx: ProtocolContext,
    private readonly signers: SignerStore,
    private readonly s: EsignSettings,
  ) {
    this.codes = new CodeBox(ctx);
  }

  /** Checks the signer and the input, stores the request, sends the code. */
  async submit(caller: Caller, input: SubmitInput): Promise<Submitted> {
    const signer = await this.activeSigner(caller, input.signerId);
    let hash: HashName = 'sha256';
    let digest: Buffer;
    if (input.kind === 'hash') {
      if (input.digest.length !== hashLengths[input.hash]) throw new EmcaFailure(E.invalidHash);
      hash = input.hash;
      digest = input.digest;
    } else {
      if (input.document.length > this.s.maxDocument) throw new EmcaFailure(E.documentTooLarge, 413);
      // A dry run of the update now: the signer is not asked to authorise a PDF that cannot be signed.
      try {
        preparePdf(input.document, { signingTime: new Date() });
      } catch (e) {
        this.ctx.log.info({ client: caller.client.id, why: (e as Error).message }, 'emca esign: PDF refused');
        throw new EmcaFailure(E.invalidDocument);
      }
      digest = createHash('sha256').update(input.document).digest();
    }
    const [{ open }] = await this.ctx.store.db
      .select({ open: sql<number>`count(*)::int` })
      .from(emcaEsignRequests)
      .where(and(eq(emcaEsignRequests.signerRow, signer.id), eq(emcaEsignRequests.status, 'pending'), gt(emcaEsignRequests.expiresAt, new Date())));
    if (open >= MAX_PENDING_PER_SIGNER) throw new EmcaFailure(E.tooMany);
    const id = randomUUID();
    const code = this.codes.fresh();
    const expiresAt = new Date(Date.now() + this.s.codeTtl * 1000);
    const channel = this.s.codeWebhook ? 'webhook' : 'operator';
    await this.ctx.store.db.delete(emcaEsignRequests).where(lt(emcaEsignRequests.expiresAt, new Date(Date.now() - 86400_000)));
    await this.ctx.store.db.insert(emcaEsignRequests).values({
      id,
      clientId: caller.client.id,
      signerRow: signer.id,
      kind: input.kind,
      hashAlgorithm: hash,
      digest,
      document: input.kind === 'pdf' ? input.document : null,
      codeMac: this.codes.mac(id, code),
      codeSealed: channel === 'operator' ? this.codes.sealForOperator(id, code) : null,
      expiresAt,
    });
    if (this.s.codeWebhook) {
      const ok = await deliverByWebhook(this.s.codeWebhook, { requestId: id, clientId: caller.client.id, signerId: signer.signerId, code, expiresAt: expiresAt.toISOString() }, this.ctx);
      if (!ok) {
        await this.ctx.store.db.update(emcaEsignRequests).set({ status: 'locked' }).where(eq(emcaEsignRequests.id, id));
        throw new EmcaFailure(E.deliveryFailed, 503);
      }
    }
    await this.ctx.audit.record({
      actor: caller.principal.id,
      action: 'emca.esign.requested',
      target: `${signer.issuerId}:${signer.serial}`,
      details: { requestId: id, signerId: signer.signerId, kind: input.kind, hashAlgorithm: hash, digest: digest.toString('hex'), channel },
    });
    return { requestId: id, expiresAt, channel };
  }

  private async activeSigner(caller: Caller, signerId: string): Promise<EmcaEsignSignerRow> {
    const signer = await this.signers.find(caller, signerId);
    if (!signer || signer.disabled) throw new EmcaFailure(E.unknownSigner, 404);
    const st = await this.ctx.certificates.statusBySerial(signer.issuerId, signer.serial);
    if (!st || st.status !== 'valid' || st.notAfter.getTime() <= Date.now()) throw new EmcaFailure(E.signerInactive);
    return signer;
  }

  /** The signer's code authorises the request: one attempt counted, then the signature. */
  async confirm(caller: Caller, requestId: string, code: string): Promise<Signed> {
    if (!/^[0-9a-f-]{36}$/.test(requestId)) throw new EmcaFailure(E.unknownRequest, 404);
    // Count the attempt first (atomically, under the limit and before expiry): guessing costs attempts even when racing.
    const [row] = await this.ctx.store.db
      .update(emcaEsignRequests)
      .set({ attempts: sql`${emcaEsignRequests.attempts} + 1` })
      .where(
        and(
          eq(emcaEsignRequests.id, requestId),
          eq(emcaEsignRequests.clientId, caller.client.id),
          eq(emcaEsignRequests.status, 'pending'),
          gt(emcaEsignRequests.expiresAt, new Date()),
          lt(emcaEsignRequests.attempts, this.s.codeAttempts),
        ),
      )
      .returning();
    if (!row) throw await this.whyNot(caller, requestId);
    if (!/^\d{1,16}$/.test(code) || !this.codes.matches(row.id, code, row.codeMac)) {
      if (row.attempts >= this.s.codeAttempts) await this.ctx.store.db.update(emcaEsignRequests).set({ status: 'locked' }).where(eq(emcaEsignRequests.id, row.id));
      await this.ctx.audit.record({ actor: caller.principal.id, action: 'emca.esign.code-refused', target: row.id, outcome: 'failure', details: { attempts: row.attempts } });
      throw new EmcaFailure(row.attempts >= this.s.codeAttempts ? E.locked : E.wrongCode);
    }
    // Exactly one confirmation wins the request, even when two carry the right code at once.
    const won = await this.ctx.store.db
      .update(emcaEsignRequests)
      .set({ status: 'signed', signedAt: new Date(), document: null, codeSealed: null })
      .where(and(eq(emcaEsignRequests.id, row.id), eq(emcaEsignRequests.status, 'pending')))
      .returning({ id: emcaEsignRequests.id });
    if (won.length === 0) throw new EmcaFailure(E.done);
    return this.sign(caller, row);
  }

  private async whyNot(caller: Caller, requestId: string): Promise<EmcaFailure> {
    const [r] = await this.ctx.store.db
      .select({ status: emcaEsignRequests.status, expiresAt: emcaEsignRequests.expiresAt })
      .from(emcaEsignRequests)
      .where(and(eq(emcaEsignRequests.id, requestId), eq(emcaEsignRequests.clientId, caller.client.id)));
    if (!r) return new EmcaFailure(E.unknownRequest, 404);
    if (r.status === 'signed') return new EmcaFailure(E.done);
    if (r.status === 'locked') return new EmcaFailure(E.locked);
    if (r.expiresAt.getTime() <= Date.now()) return new EmcaFailure(E.expired);
    await this.ctx.store.db.update(emcaEsignRequests).set({ status: 'locked' }).where(eq(emcaEsignRequests.id, requestId));
    return new EmcaFailure(E.locked);
  }

  private async sign(caller: Caller, row: EmcaEsignRequestRow): Promise<Signed> {
    const [signer] = await this.ctx.store.db.select().from(emcaEsignSigners).where(eq(emcaEsignSigners.id, row.signerRow));
    const cert = signer ? await this.ctx.certificates.byId(signer.certificateId) : undefined;
    if (!signer || !cert) throw new EmcaFailure(E.unknownSigner, 404);
    // The certificate's status is read again at signing time: a revocation in between stops it.
    if (cert.status !== 'valid' || cert.notAfter.getTime() <= Date.now()) throw new EmcaFailure(E.signerInactive);
    const material = { key: await this.ctx.keys.open(signer.keyRef), certDer: cert.der, chain: (await this.ctx.issuers.get(signer.issuerId))?.chain ?? [] };
    const at = new Date();
    let out: Signed;
    try {
      out =
        row.kind === 'hash'
          ? { kind: 'cms', signature: await signHash(material, row.hashAlgorithm as HashName, row.digest, at), serial: signer.serial, signedAt: at }
          : { kind: 'pdf', document: await signPdf(material, row.document!, at, signer.signerId), serial: signer.serial, signedAt: at };
    } catch (e) {
      if (!(e instanceof PdfError)) throw e;
      await this.ctx.audit.record({ actor: caller.principal.id, action: 'emca.esign.sign', target: `${signer.issuerId}:${signer.serial}`, outcome: 'failure', details: { requestId: row.id, why: e.message } });
      throw new EmcaFailure(E.invalidDocument);
    }
    const result = out.kind === 'cms' ? out.signature : out.document;
    await this.ctx.audit.record({
      actor: caller.principal.id,
      action: 'emca.esign.sign',
      target: `${signer.issuerId}:${signer.serial}`,
      details: {
        requestId: row.id,
        signerId: signer.signerId,
        kind: row.kind,
        hashAlgorithm: row.hashAlgorithm,
        digest: Buffer.from(row.digest).toString('hex'),
        resultSha256: createHash('sha256').update(result).digest('hex'),
        signedAt: at.toISOString(),
      },
    });
    this.ctx.log.info({ requestId: row.id, client: caller.client.id, kind: row.kind }, 'emca esign: signed');
    return out;
  }

  /** Operator channel: the code of a pending request, once (then erased). */
  async codeForOperator(requestId: string): Promise<{ code: string; signerId: string; expiresAt: Date } | undefined> {
    if (!/^[0-9a-f-]{36}$/.test(requestId)) return undefined;
    const [r] = await this.ctx.store.db
      .select()
      .from(emcaEsignRequests)
      .where(and(eq(emcaEsignRequests.id, requestId), eq(emcaEsignRequests.status, 'pending'), gt(emcaEsignRequests.expiresAt, new Date()), isNotNull(emcaEsignRequests.codeSealed)));
    if (!r?.codeSealed) return undefined;
    // Erased only if still there: of two operators reading at once, one gets it.
    const took = await this.ctx.store.db
      .update(emcaEsignRequests)
      .set({ codeSealed: null })
      .where(and(eq(emcaEsignRequests.id, requestId), isNotNull(emcaEsignRequests.codeSealed)))
      .returning({ id: emcaEsignRequests.id });
    if (took.length === 0) return undefined;
    const [signer] = await this.ctx.store.db.select().from(emcaEsignSigners).where(eq(emcaEsignSigners.id, r.signerRow));
    return { code: this.codes.unsealForOperator(r.id, r.codeSealed), signerId: signer?.signerId ?? '', expiresAt: r.expiresAt };
  }

  /** Pending requests (operator view, no codes). */
  async pending(limit = 100): Promise<{ requestId: string; clientId: string; kind: string; expiresAt: string; codeAvailable: boolean }[]> {
    const rows = await this.ctx.store.db
      .select({ id: emcaEsignRequests.id, clientId: emcaEsignRequests.clientId, kind: emcaEsignRequests.kind, expiresAt: emcaEsignRequests.expiresAt, codeSealed: emcaEsignRequests.codeSealed })
      .from(emcaEsignRequests)
      .where(and(eq(emcaEsignRequests.status, 'pending'), gt(emcaEsignRequests.expiresAt, new Date())))
      .limit(Math.min(limit, 1000));
    return rows.map((r) => ({ requestId: r.id, clientId: r.clientId, kind: r.kind, expiresAt: r.expiresAt.toISOString(), codeAvailable: r.codeSealed !== null }));
  }
}
