/**
 * Key recovery ("Recover User keypair" of the emCA manuals): the PKCS#12 of a server-generated key
 * (createPKCS12 / keystores, kept sealed for getPKCS12) is re-issued under a new password — or under
 * its old one — after two operators agree: one officer requests, a different officer (or
 * administrator) approves. The approver receives the PKCS#12 once; the application's getPKCS12
 * answers the new password from then on. Every step is audited. Keys of eSign signers are not
 * recoverable: they live in the key store and never leave it.
 *
 *   POST /api/v1/emca/key-recoveries               (officer) {serialNumber, issuerId?, reason, newPassword?}
 *   GET  /api/v1/emca/key-recoveries               (officer) list
 *   POST /api/v1/emca/key-recoveries/{id}/approve  (officer, not the requester) → {pkcs12}
 *   POST /api/v1/emca/key-recoveries/{id}/reject   (officer)
 */
import { randomUUID } from 'node:crypto';
import { and, desc, eq, inArray, ne } from 'drizzle-orm';
import type { Context as HonoContext } from 'hono';
import { parseClientJson, readRawBody } from '../../src/http/body.ts';
import { jsonError } from '../../src/http/errors.ts';
import { normaliseSerial } from '../../src/issuance/revocation.ts';
import { buildPkcs12 } from '../../src/pki/pkcs12.ts';
import { Pkcs12ReadError, readPkcs12 } from '../../src/pki/pkcs12-read.ts';
import type { ProtocolAppEnv as AppEnv, ProtocolContext, ProtocolTx } from '../../src/protocol-context.ts';
import { emcaKeyRecoveries, emcaPfx, type EmcaKeyRecoveryRow } from './schema.ts';

const pfxPurpose = (certId: string) => `emca-pfx:${certId}`;
const pinPurpose = (certId: string) => `emca-pfx-pin:${certId}`;
const newPinPurpose = (id: string) => `emca-recovery-pin:${id}`;

class Refusal extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

/** A PFX password the PKCS#12 can carry and the getPKCS12 pseudo-JSON can name: 4-128 printable characters. */
function checkPassword(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !/^[\x20-\x7e]{4,128}$/.test(v)) throw new Refusal(400, 'newPassword must be 4-128 printable ASCII characters');
  if (/['"]/.test(v)) throw new Refusal(400, 'newPassword cannot contain quotes (getPKCS12 quotes the pfxPin)');
  return v;
}

export class KeyRecovery {
  constructor(private readonly ctx: ProtocolContext) {}

  async request(actor: string, input: Record<string, unknown>): Promise<EmcaKeyRecoveryRow> {
    const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
    if (!reason || reason.length > 500) throw new Refusal(400, 'reason is required (at most 500 characters)');
    const newPassword = checkPassword(input.newPassword);
    if (typeof input.serialNumber !== 'string') throw new Refusal(400, 'serialNumber is required');
    let serial: string;
    try {
      serial = normaliseSerial(input.serialNumber);
    } catch {
      throw new Refusal(400, 'serialNumber is not a hexadecimal serial');
    }
    const bare = serial.replace(/^(00)+/, '');
    const candidates = [...new Set([serial, bare, '00' + bare])];
    let rows = await this.ctx.store.db.select().from(emcaPfx).where(inArray(emcaPfx.serial, candidates));
    if (typeof input.issuerId === 'string') rows = rows.filter((r) => r.issuerId === input.issuerId);
    if (rows.length === 0) throw new Refusal(404, 'no kept PKCS#12 (server-generated key) for this serial');
    if (rows.length > 1) throw new Refusal(409, 'several issuers used this serial: name the issuerId');
    const id = randomUUID();
    const [row] = await this.ctx.store.db
      .insert(emcaKeyRecoveries)
      .values({
        id,
        certificateId: rows[0].certificateId,
        issuerId: rows[0].issuerId,
        serial: rows[0].serial,
        reason,
        newPasswordSealed: newPassword !== undefined ? this.ctx.secrets.seal(newPinPurpose(id), Buffer.from(newPassword, 'utf8')) : null,
        requestedBy: actor,
      })
      .returning();
    await this.ctx.audit.record({ actor, action: 'emca.key-recovery.requested', target: `${row.issuerId}:${row.serial}`, details: { recoveryId: id, reason, newPassword: newPassword !== undefined } });
    return row;
  }

  /** Approval by another operator: the PFX re-encrypted (fresh salts) under the new or the old password. */
  async approve(actor: string, id: string): Promise<{ row: EmcaKeyRecoveryRow; pkcs12: Buffer }> {
    // Core reads happen before the transaction (PGlite has one connection: no other query inside it).
    const [pre] = await this.ctx.store.db.select().from(emcaKeyRecoveries).where(eq(emcaKeyRecoveries.id, id));
    const cert = pre ? await this.ctx.certificates.byId(pre.certificateId) : undefined;
    const out = await this.ctx.store.transaction(async (tx) => {
      const [won] = await tx
        .update(emcaKeyRecoveries)
        .set({ status: 'approved', decidedBy: actor, decidedAt: new Date() })
        .where(and(eq(emcaKeyRecoveries.id, id), eq(emcaKeyRecoveries.status, 'pending'), ne(emcaKeyRecoveries.requestedBy, actor)))
        .returning();
      if (!won) throw await this.whyNot(tx, actor, id);
      return { row: won, pkcs12: await this.reissue(tx, won, cert) };
    });
    await this.ctx.audit.record({
      actor,
      action: 'emca.key-recovery.approved',
      target: `${out.row.issuerId}:${out.row.serial}`,
      details: { recoveryId: id, requestedBy: out.row.requestedBy, newPassword: out.row.newPasswordSealed !== null },
    });
    return out;
  }

  private async reissue(tx: ProtocolTx, r: EmcaKeyRecoveryRow, cert: { der: Uint8Array; subject: string } | undefined): Promise<Buffer> {
    const [kept] = await tx.select().from(emcaPfx).where(eq(emcaPfx.certificateId, r.certificateId));
    if (!kept) throw new Refusal(404, 'the kept PKCS#12 is gone');
    const oldPassword = this.ctx.secrets.unseal(pinPurpose(r.certificateId), kept.passwordSealed).toString('utf8');
    const password = r.newPasswordSealed ? this.ctx.secrets.unseal(newPinPurpose(r.id), r.newPasswordSealed).toString('utf8') : oldPassword;
    let contents;
    try {
      contents = await readPkcs12(this.ctx.secrets.unseal(pfxPurpose(r.certificateId), kept.pfxSealed), oldPassword);
    } catch (e) {
      if (e instanceof Pkcs12ReadError) throw new Refusal(409, `the kept PKCS#12 cannot be read: ${e.message}`);
      throw e;
    }
    const [certificate, ...chain] = contents.certificates;
    const pfx = await buildPkcs12({
      privateKey: contents.privateKey,
      certificate: cert?.der ?? certificate,
      chain,
      password,
      friendlyName: cert?.subject.slice(0, 64),
      encryption: kept.encryption === 'legacy' ? 'legacy' : 'aes',
    });
    await tx
      .update(emcaPfx)
      .set({ pfxSealed: this.ctx.secrets.seal(pfxPurpose(r.certificateId), pfx), passwordSealed: this.ctx.secrets.seal(pinPurpose(r.certificateId), Buffer.from(password, 'utf8')) })
      .where(eq(emcaPfx.certificateId, r.certificateId));
    await tx.update(emcaKeyRecoveries).set({ newPasswordSealed: null }).where(eq(emcaKeyRecoveries.id, r.id));
    return pfx;
  }

  private async whyNot(tx: ProtocolTx, actor: string, id: string): Promise<Refusal> {
    const [r] = await tx.select().from(emcaKeyRecoveries).where(eq(emcaKeyRecoveries.id, id));
    if (!r) return new Refusal(404, 'no such key recovery');
    if (r.status !== 'pending') return new Refusal(409, `the key recovery is already ${r.status}`);
    if (r.requestedBy === actor) return new Refusal(403, 'the operator who requested a key recovery cannot approve it');
    return new Refusal(409, 'the key recovery changed meanwhile');
  }

  async reject(actor: string, id: string): Promise<EmcaKeyRecoveryRow> {
    const [r] = await this.ctx.store.db
      .update(emcaKeyRecoveries)
      .set({ status: 'rejected', decidedBy: actor, decidedAt: new Date(), newPasswordSealed: null })
      .where(and(eq(emcaKeyRecoveries.id, id), eq(emcaKeyRecoveries.status, 'pending')))
      .returning();
    if (!r) throw await this.whyNot(this.ctx.store.db as unknown as ProtocolTx, actor, id);
    await this.ctx.audit.record({ actor, action: 'emca.key-recovery.rejected', target: `${r.issuerId}:${r.serial}`, details: { recoveryId: id } });
    return r;
  }

  async list(): Promise<EmcaKeyRecoveryRow[]> {
    return this.ctx.store.db.select().from(emcaKeyRecoveries).orderBy(desc(emcaKeyRecoveries.createdAt)).limit(500);
  }
}

const view = (r: EmcaKeyRecoveryRow) => ({
  id: r.id,
  serialNumber: r.serial.replace(/^(00)+/, ''),
  issuerId: r.issuerId,
  reason: r.reason,
  status: r.status,
  requestedBy: r.requestedBy,
  decidedBy: r.decidedBy,
  createdAt: r.createdAt.toISOString(),
  decidedAt: r.decidedAt?.toISOString() ?? null,
});

export function mountKeyRecovery(ctx: ProtocolContext): void {
  const kr = new KeyRecovery(ctx);
  const app = ctx.adminRouter();
  const officer = ctx.http.requireRole('officer');
  const run = (fn: (c: HonoContext<AppEnv>, actor: string) => Promise<Response>) => async (c: HonoContext<AppEnv>) => {
    try {
      return await fn(c, `operator:${c.get('operator')!.name}`);
    } catch (e) {
      if (e instanceof Refusal) return c.json({ error: e.status === 403 ? 'Forbidden' : e.status === 404 ? 'NotFound' : e.status === 409 ? 'Conflict' : 'BadRequest', message: e.message }, e.status);
      return jsonError(c, e, (err) => ctx.log.error({ err }, 'emca key recovery: unhandled error'));
    }
  };
  const body = async (c: HonoContext<AppEnv>): Promise<Record<string, unknown>> => {
    const text = new TextDecoder().decode(await readRawBody(c));
    const b = text.trim() ? parseClientJson(text) : {};
    return b && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : {};
  };
  app.post('/key-recoveries', officer, run(async (c, actor) => c.json(view(await kr.request(actor, await body(c))), 201)));
  app.get('/key-recoveries', officer, run(async (c) => c.json({ recoveries: (await kr.list()).map(view) })));
  app.post(
    '/key-recoveries/:id/approve',
    officer,
    run(async (c, actor) => {
      const { row, pkcs12 } = await kr.approve(actor, c.req.param('id')!);
      c.header('Cache-Control', 'no-store');
      return c.json({ ...view(row), pkcs12: pkcs12.toString('base64') });
    }),
  );
  app.post('/key-recoveries/:id/reject', officer, run(async (c, actor) => c.json(view(await kr.reject(actor, c.req.param('id')!)))));
}
