/**
 * The SCEP HTTP transport (RFC 8894 §4): `GET|POST /scep[/<label>]?operation=…`, also under
 * `/pkiclient.exe` as Cisco-style clients append it. Every client mistake here is HTTP 400 with a
 * plain-text reason; protocol failures inside a readable pkiMessage are CertReps (service.ts).
 */
import type { Context as HonoContext, Hono } from 'hono';
import type { ProtocolAppEnv, ProtocolContext } from '../../src/protocol-context.ts';
import { capsText, capsTextWithNextCa } from './caps.ts';
import { ScepHttpError } from './errors.ts';
import { DEFAULT_LABEL, type ScepSettings } from './settings.ts';

type C = HonoContext<ProtocolAppEnv>;

export interface CaCertAnswer {
  body: Buffer;
  contentType: 'application/x-x509-ca-cert' | 'application/x-x509-ca-ra-cert';
}

export interface ScepRouteDeps {
  ctx: ProtocolContext;
  settings: ScepSettings;
  service: { pkiOperation(label: string, der: Uint8Array, clientAddress: string): Promise<Buffer> };
  caCert(): CaCertAnswer;
  /** GetNextCACert: the next CA's certificates signed by the current CA, when a rollover is under way. */
  nextCaCert(): Promise<Buffer | undefined>;
  /** Whether a CA rollover is pending (GetCACaps then lists GetNextCACert). */
  rolloverPending(): Promise<boolean>;
}

const text = (c: C, status: 200 | 400 | 404 | 413 | 503, body: string) => c.body(body, status, { 'content-type': 'text/plain; charset=utf-8' });
const der = (c: C, body: Buffer, contentType: string) => c.body(new Uint8Array(body), 200, { 'content-type': contentType, 'content-length': String(body.length) });
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function mountScepRoutes(app: Hono<ProtocolAppEnv>, d: ScepRouteDeps): void {
  const handle = async (c: C, label: string) => {
    if (!d.settings.labels[label]) return text(c, 404, `unknown SCEP label "${label}"\n`);
    const operation = c.req.query('operation');
    switch (operation) {
      case 'GetCACaps':
        return c.body((await d.rolloverPending()) ? capsTextWithNextCa : capsText, 200, { 'content-type': 'text/plain' });
      case 'GetCACert': {
        const a = d.caCert();
        return der(c, a.body, a.contentType);
      }
      case 'GetNextCACert': {
        const next = await d.nextCaCert();
        if (!next) return text(c, 404, 'no CA rollover is under way\n');
        return der(c, next, 'application/x-x509-next-ca-cert');
      }
      case 'PKIOperation':
        return pkiOperation(c, label);
      case undefined:
        return text(c, 400, 'missing operation parameter\n');
      default:
        return text(c, 400, 'unknown operation\n');
    }
  };

  const pkiOperation = async (c: C, label: string) => {
    const max = d.settings.maxMessageBytes;
    let message: Buffer;
    if (c.req.method === 'POST') {
      const declared = Number(c.req.header('content-length') ?? '0');
      if (declared > max) return text(c, 413, 'message too large\n');
      try {
        message = Buffer.from(await d.ctx.http.rawBody(c, max));
      } catch {
        return text(c, 413, 'message too large\n');
      }
    } else {
      // GET: base64 in `message=`; a `+` that a client forgot to escape arrives as a space.
      const m = (c.req.query('message') ?? '').replace(/ /g, '+').replace(/[\r\n]/g, '');
      if (m.length > Math.ceil((max * 4) / 3) + 4) return text(c, 413, 'message too large\n');
      if (!m || !B64.test(m)) return text(c, 400, 'message is missing or not base64\n');
      message = Buffer.from(m, 'base64');
    }
    if (message.length === 0) return text(c, 400, 'empty message\n');
    try {
      const rep = await d.service.pkiOperation(label, message, d.ctx.http.clientAddress(c));
      return der(c, rep, 'application/x-pki-message');
    } catch (e) {
      if (e instanceof ScepHttpError) return text(c, 400, `${e.message}\n`);
      d.ctx.log.error({ err: e }, 'scep: PKIOperation failed');
      return text(c, 503, 'the request could not be processed now; try again\n');
    }
  };

  const labelOf = (c: C) => c.req.param('label') ?? DEFAULT_LABEL;
  for (const path of ['/scep', '/scep/pkiclient.exe', '/cgi-bin/pkiclient.exe']) {
    app.get(path, (c) => handle(c, DEFAULT_LABEL));
    app.post(path, (c) => handle(c, DEFAULT_LABEL));
  }
  for (const path of ['/scep/:label', '/scep/:label/pkiclient.exe']) {
    app.get(path, (c) => handle(c, labelOf(c)));
    app.post(path, (c) => handle(c, labelOf(c)));
  }
}
