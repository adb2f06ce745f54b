/** Reading an order (RFC 8555 §7.4) and finalizing it (§7.4, issuance in the background). */
import { eq } from 'drizzle-orm';
import { checkCsr } from '../finalize.ts';
import type { AccountRow } from '../jws.ts';
import { effectiveAuthzStatus, effectiveOrderStatus, isId, loadAuthzs, orderExtra, orderFromJson, orderJson, type OrderRow } from '../orders.ts';
import { problem } from '../problems.ts';
import { acmeOrders } from '../schema.ts';
import type { AcmeWeb, Handler } from './web.ts';

export function orderHandlers(w: AcmeWeb) {
  const { d, settings, db } = w;

  /** The order read with the authentication (v.extra), checked against the account. */
  const loadOrder = async (id: string, account: AccountRow, fromAuth?: unknown): Promise<OrderRow> => {
    const [o] = fromAuth ? [orderFromJson(fromAuth as Record<string, unknown>)] : isId(id) && fromAuth === undefined ? await db.select().from(acmeOrders).where(eq(acmeOrders.id, id)) : [];
    if (!o) throw problem('malformed', 'no such order', { status: 404 });
    if (o.accountId !== account.id) throw problem('unauthorized', 'the order belongs to another account');
    return o;
  };

  const readOrder: Handler = async (c) => {
    const id = c.req.param('id') ?? '';
    // An issuance running here for this order: its outcome, if it comes within the poll wait.
    await d.runner.settle(id, settings.pollWaitMs);
    const v = await w.auth(c, 'kid', isId(id) ? orderExtra(id) : undefined);
    const urls = w.urlsOf(c);
    if (v.payload.length) throw problem('malformed', 'an order is read with POST-as-GET (empty payload)');
    const o = await loadOrder(id, v.account!, v.extra ?? null);
    return w.send(c, 200, orderJson(o, urls), o.status === 'processing' ? w.retryAfter() : {});
  };

  /** orderNotReady, naming the authorizations still open when the order is pending. */
  const notReady = async (o: OrderRow, status: string) => {
    if (status === 'pending') {
      const authzs = await loadAuthzs(db, o.authzIds);
      const open = authzs.filter((a) => effectiveAuthzStatus(a) !== 'valid').map((a) => `${a.identifierType}:${a.identifierValue}`);
      return problem('orderNotReady', `the order is pending: authorizations not yet valid for ${open.join(', ')}`);
    }
    return problem('orderNotReady', `the order is ${status}, not ready`);
  };

  const finalize: Handler = async (c) => {
    const id = c.req.param('id') ?? '';
    const v = await w.auth(c, 'kid', isId(id) ? orderExtra(id) : undefined);
    const urls = w.urlsOf(c);
    const o = await loadOrder(id, v.account!, v.extra ?? null);
    const status = effectiveOrderStatus(o);
    if (status !== 'ready') throw await notReady(o, status);
    const body = v.body as { csr?: unknown } | undefined;
    if (!body || typeof body.csr !== 'string' || !/^[A-Za-z0-9_-]+$/.test(body.csr)) throw problem('malformed', 'finalize needs {"csr": base64url DER}');
    const csrDer = Buffer.from(body.csr, 'base64url');
    const csr = checkCsr(csrDer, o, v.key);
    // Issuance runs in the background; when it is done within the poll wait, the answer is the
    // valid order (no poll needed), else processing with Retry-After.
    const shown = await d.runner.finalize(o, csrDer, csr, settings.pollWaitMs);
    if (!shown) throw problem('orderNotReady', 'the order is no longer ready (finalized concurrently)');
    return w.send(c, 200, orderJson(shown, urls), { Location: urls.order(o.id), ...(shown.status === 'processing' ? w.retryAfter() : {}) });
  };

  return { readOrder, finalize };
}
