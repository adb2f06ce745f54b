/**
 * The ACME web front end (RFC 8555 §7): the route table. Every answer carries a fresh
 * Replay-Nonce and the directory link; every error is a problem document. The handlers live
 * in http/, one file per resource.
 */
import type { Hono } from 'hono';
import type { ProtocolAppEnv as AppEnv } from '../../src/protocol-context.ts';
import { certId } from './ari.ts';
import { accountHandlers, keyChangeHandler } from './http/account.ts';
import { ariHandlers } from './http/ari.ts';
import { authzHandlers } from './http/authz.ts';
import { certificateHandlers } from './http/certificate.ts';
import { directoryHandlers } from './http/directory.ts';
import { newOrderHandlers } from './http/new-order.ts';
import { orderHandlers } from './http/order.ts';
import { revocationHandlers } from './http/revocation.ts';
import { acmeWeb, type AcmeDeps } from './http/web.ts';
import { acmeMetrics } from './metrics.ts';

export type { AcmeDeps };

export function mountAcme(app: Hono<AppEnv>, d: AcmeDeps): void {
  const w = acmeWeb(d);
  const { h } = w;
  const dir = directoryHandlers(w);
  const acct = accountHandlers(w);
  const { newOrder } = newOrderHandlers(w);
  const order = orderHandlers(w);
  const authz = authzHandlers(w);
  const { certificate } = certificateHandlers(w);
  const { revokeCert } = revocationHandlers(w);
  const { renewalInfo } = ariHandlers(w);

  app.use('/acme/*', acmeMetrics(d.ctx));
  app.use('/acme/*', w.commonHeaders);

  app.get('/acme/directory', h(dir.directory));
  app.get('/acme/new-nonce', dir.newNonce);

  app.post('/acme/new-account', h(acct.newAccount));
  app.post('/acme/acct/:id', h(acct.updateAccount));
  app.post('/acme/acct/:id/orders', h(acct.accountOrders));
  app.post('/acme/key-change', h(keyChangeHandler(w)));

  app.post('/acme/new-order', h(newOrder));
  app.post('/acme/order/:id', h(order.readOrder));
  app.post('/acme/order/:id/finalize', h(order.finalize));

  app.post('/acme/authz/:id', h(authz.authorization));
  app.post('/acme/chall/:id', h(authz.challenge));

  app.post('/acme/cert/:id/:alt?', h(certificate));
  app.post('/acme/revoke-cert', h(revokeCert));

  app.get('/acme/renewal-info/:id', h(renewalInfo));

  app.all('/acme/*', h(dir.fallback));
}

export { certId };
