/**
 * The responder management this protocol offers the others through the seam
 * (`ctx.services.provide('ocsp.responders', …)`; emCA V5 OCSP Management uses it): the operations
 * of the admin API under /api/v1/ocsp, plus mapping a still-valid responder certificate back to
 * its CA.
 */
import { and, eq } from 'drizzle-orm';
import type { OcspResponderService, ProtocolContext } from '../../src/protocol-context.ts';
import { BadRequest, Conflict, NotFound } from '../../src/issuance/errors.ts';
import { responderView, type ResponderManager } from './responders.ts';
import { ocspResponders } from './schema.ts';
import type { OcspService } from './service.ts';

export function ocspResponderService(ctx: ProtocolContext, svc: OcspService, mgr: ResponderManager): OcspResponderService {
  const status = async (issuerId: string) => {
    if (!(await ctx.issuers.get(issuerId))) throw new NotFound(`no issuer "${issuerId}"`);
    const st = svc.state(issuerId);
    const responders = await mgr.list(issuerId);
    return {
      issuerId,
      signedBy: st ? (st.delegated ? 'delegated' : 'issuer') : 'unknown',
      settings: (await mgr.settings(issuerId)) as unknown as Record<string, unknown>,
      activeResponder: responders.find((r) => r.status === 'active') ?? null,
    };
  };
  return {
    status,
    list: (issuerId) => mgr.list(issuerId),
    get: (id) => mgr.get(id),
    create: (issuerId, actor, opts) => mgr.create(issuerId, actor, opts),
    revoke: (id, actor, reason, replace) => mgr.revoke(id, actor, reason, replace ?? false),
    updateSettings: async (issuerId, patch, actor) => (await mgr.updateSettings(issuerId, patch, actor)) as unknown as Record<string, unknown>,
    /**
     * Makes a retired (replaced, still valid, not revoked) responder certificate the active one of
     * its issuer again, and the issuer's responses delegated to it.
     */
    async map(id, actor) {
      const [row] = await ctx.store.db.select().from(ocspResponders).where(eq(ocspResponders.id, id));
      if (!row) throw new NotFound(`no OCSP responder "${id}"`);
      if (row.status === 'revoked') throw new Conflict(`OCSP responder ${id} is revoked`);
      if (row.notAfter.getTime() <= Date.now()) throw new BadRequest(`OCSP responder ${id} expired at ${row.notAfter.toISOString()}`);
      const cert = await ctx.certificates.byId(row.certificateId);
      if (!cert || cert.status !== 'valid') throw new Conflict(`the certificate of OCSP responder ${id} is not valid`);
      await ctx.store.db.transaction(async (tx) => {
        await tx
          .update(ocspResponders)
          .set({ status: 'retired', updatedAt: new Date() })
          .where(and(eq(ocspResponders.issuerId, row.issuerId), eq(ocspResponders.status, 'active')));
        await tx.update(ocspResponders).set({ status: 'active', updatedAt: new Date() }).where(eq(ocspResponders.id, id));
      });
      await ctx.audit.record({ actor, action: 'ocsp.responder.map', target: `${row.issuerId}:${row.serial}`, details: { responder: id } });
      // updateSettings reloads the responder state and tells the other instances.
      await mgr.updateSettings(row.issuerId, { signing: 'delegated' }, actor);
      const [after] = await ctx.store.db.select().from(ocspResponders).where(eq(ocspResponders.id, id));
      return responderView(after);
    },
  };
}
