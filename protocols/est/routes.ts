/**
 * EST over HTTPS (RFC 7030 §3.2.2): `/.well-known/est/<operation>` (label `default`) and
 * `/.well-known/est/<label>/<operation>`. Every refusal is a status with a text/plain reason.
 */
import { DATABASE_RETRY_AFTER, isDatabaseUnavailable } from '../../src/db/unavailable.ts';
import type { Context as HonoContext, Hono } from 'hono';
import { loggableError } from '../../src/http/errors.ts';
import { isIssuanceError } from '../../src/issuance/errors.ts';
import type { IssuanceResult } from '../../src/issuance/request.ts';
import { buildCertsOnly } from '../../src/pki/cms-signed-data.ts';
import type { AppEnv } from '../../src/http/app-env.ts';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import type { Authenticator } from './auth.ts';
import type { FullCmc } from './fullcmc.ts';
import { chainOf, labelIssuer } from './issuer.ts';
import { keyPart, keyProtection, recipientFor } from './server-key.ts';
import { csrAttrsFor } from './csrattrs.ts';
import { checkChannelBinding, checkedCsr, enroll, type Operation } from './enroll.ts';
import { EstError, fromIssuanceError } from './errors.ts';
import { DEFAULT_LABEL, type Label, type LabelStore } from './labels.ts';
import { base64Answer, baseType, decodeBase64Body, mediaType, multipartMixed, requireType } from './wire.ts';

export interface EstDeps {
  ctx: ProtocolContext;
  labels: LabelStore;
  auth: Authenticator;
  fullcmc: FullCmc;
  bodyLimit: number;
  retryAfter: number;
}

type Handler = (c: HonoContext, label: Label) => Promise<Response>;

export function mountRoutes(app: Hono<AppEnv>, d: EstDeps): void {
  const { ctx } = d;
  const run = (fn: Handler) => async (c: HonoContext) => {
    try {
      // Plain HTTP is refused: EST's authentication and channel binding live in TLS (§3.3).
      if (!ctx.http.channelBinding(c)) throw new EstError(403, 'EST is served over HTTPS only');
      const name = c.req.param('label') ?? DEFAULT_LABEL;
      const label = await d.labels.get(name);
      if (!label) throw new EstError(404, `unknown EST label "${name}"`);
      return await fn(c, label);
    } catch (e) {
      const refusal = e instanceof EstError ? e : isIssuanceError(e) ? fromIssuanceError(e, d.retryAfter) : undefined;
      if (refusal) return c.text(refusal.message, refusal.status, refusal.headers);
      // An outage is nobody's mistake: "try later", never a 500 (issue 11 item 9).
      if (isDatabaseUnavailable(e)) return c.text('the database is unavailable; try again later', 503, { 'Retry-After': String(DATABASE_RETRY_AFTER) });
      ctx.log.error({ err: loggableError(e), reqId: c.get('requestId') }, 'est: unhandled error');
      return c.text('internal error', 500);
    }
  };

  const cacerts: Handler = async (c, label) => {
    const chain = chainOf(await labelIssuer(ctx, label));
    return answer(c, base64Answer(buildCertsOnly(chain), mediaType.certsOnly));
  };

  const csrattrs: Handler = async (c, label) => {
    const profile = await ctx.profiles.get(label.profile);
    if (!profile) throw new EstError(503, `the label's profile "${label.profile}" does not exist`);
    return answer(c, base64Answer(csrAttrsFor(profile, label.channelBinding), mediaType.csrattrs));
  };

  const enrolment = (op: Operation): Handler => async (c, label) => {
    const auth = await d.auth.authenticate(c, label);
    requireType(c.req.header('content-type'), mediaType.pkcs10);
    const der = decodeBase64Body(await ctx.http.rawBody(c, d.bodyLimit));
    const csr = checkedCsr(der);
    if (label.channelBinding) checkChannelBinding(csr, ctx.http.channelBinding(c));
    const recipient = op === 'serverkeygen' ? recipientFor(keyProtection(der), auth.clientCert) : undefined;
    const result = await enroll(ctx, op, label, auth, csr);
    if (result.status === 'pending') return pending(c, d.retryAfter);
    if (result.status === 'rejected') throw new EstError(403, `the request was rejected: ${result.reason}`);
    if (op === 'serverkeygen') {
      if (!result.privateKey) throw new EstError(409, 'this key was certified before; the server-generated key is not kept — send a new request');
      return answer(c, multipartMixed([
        await keyPart(ctx, label, recipient, result.privateKey),
        { contentType: mediaType.certsOnly, der: buildCertsOnly([result.certificate.der]) },
      ]));
    }
    return answer(c, base64Answer(buildCertsOnly([issued(result).der]), mediaType.certsOnly));
  };

  // RFC 7030 §4.3: application/pkcs7-mime (smime-type CMC-request) in, CMC-response out.
  const fullcmc: Handler = async (c, label) => {
    const auth = await d.auth.authenticate(c, label);
    if (baseType(c.req.header('content-type')) !== 'application/pkcs7-mime') throw new EstError(400, `Content-Type must be ${mediaType.cmcRequest}`);
    const body = decodeBase64Body(await ctx.http.rawBody(c, d.bodyLimit));
    const out = await d.fullcmc.handle(label, auth, body, ctx.http.channelBinding(c));
    const a = base64Answer(out.response, mediaType.cmcResponse);
    if (out.status === 202) a.headers['Retry-After'] = String(d.retryAfter);
    return c.body(a.body, out.status, a.headers);
  };

  for (const prefix of ['/.well-known/est', '/.well-known/est/:label']) {
    app.get(`${prefix}/cacerts`, run(cacerts));
    app.get(`${prefix}/csrattrs`, run(csrattrs));
    app.post(`${prefix}/simpleenroll`, run(enrolment('simpleenroll')));
    app.post(`${prefix}/simplereenroll`, run(enrolment('simplereenroll')));
    app.post(`${prefix}/serverkeygen`, run(enrolment('serverkeygen')));
    app.post(`${prefix}/fullcmc`, run(fullcmc));
  }
  // Anything else under /.well-known/est/ answers in EST's manner (text), not the server's JSON 404.
  const methods: Record<string, string> = { cacerts: 'GET', csrattrs: 'GET', simpleenroll: 'POST', simplereenroll: 'POST', serverkeygen: 'POST', fullcmc: 'POST' };
  app.all('/.well-known/est/*', (c) => {
    const op = c.req.path.split('/').filter(Boolean).pop() ?? '';
    const allowed = methods[op];
    return allowed ? c.text(`${op} takes ${allowed}`, 405, { Allow: allowed }) : c.text('unknown EST operation', 404);
  });
}

function issued(r: Extract<IssuanceResult, { status: 'issued' }>) {
  if (r.replayed && r.certificate.notAfter.getTime() < Date.now()) {
    throw new EstError(409, 'this key was certified before and that certificate has expired; enrol a new key');
  }
  return r.certificate;
}

/** RFC 7030 §4.2.3: 202 with Retry-After; the client repeats the same request later. */
function pending(c: HonoContext, retryAfter: number): Response {
  return c.text('the request is held for approval; repeat it later', 202, { 'Retry-After': String(retryAfter) });
}

function answer(c: HonoContext, a: { body: string; headers: Record<string, string> }, status: 200 | 202 = 200): Response {
  return c.body(a.body, status, a.headers);
}
