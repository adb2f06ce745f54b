/**
 * The SPOC messages as JSON for applications, in the emCA V5 path style:
 *   POST /epassport/v5/requestCertificate         {callbackIndicator, messageID?, responseURL?, certReq}
 *   POST /epassport/v5/requestForeignCertificate  {… , foreignCAR}
 *   POST /epassport/v5/getCACertificates          {callbackIndicator, messageID?, responseURL?}
 *   POST /epassport/v5/sendCertificates           {messageID?, statusInfo?, certificateSeq?}
 *   POST /epassport/v5/getDocumentSignerList      {callbackIndicator, messageID?, responseURL?}
 * Binary values are base64. The answer: {returnCode, messageID?, certificateSeq?, documentSignerList?,
 * message?}; HTTP 200 for every return code except failure_syntax (400).
 */
import type { Context as HonoContext, Hono } from 'hono';
import type { ProtocolAppEnv, ProtocolContext } from '../../src/protocol-context.ts';
import type { AppEnv } from '../../src/http/app-env.ts';
import type { SpocResult } from './codes.ts';
import type { CallbackSender, MessageInput, Messages, Operation } from './messages.ts';
import type { EpassportSettings } from './settings.ts';

const paths: Record<string, Operation> = {
  requestCertificate: 'RequestCertificate',
  requestForeignCertificate: 'RequestForeignCertificate',
  getCACertificates: 'GetCACertificates',
  sendCertificates: 'SendCertificates',
  getDocumentSignerList: 'GetDocumentSignerList',
};

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The JSON body as a MessageInput; anything malformed is failure_syntax (undefined). */
export function jsonMessage(b: unknown): MessageInput | undefined {
  if (typeof b !== 'object' || b === null || Array.isArray(b)) return undefined;
  const o = b as Record<string, unknown>;
  const str = (k: string) => (o[k] === undefined ? undefined : typeof o[k] === 'string' ? (o[k] as string) : null);
  const bin = (v: unknown) => (typeof v === 'string' && B64.test(v.replace(/\s+/g, '')) ? Buffer.from(v, 'base64') : null);
  const m: MessageInput = {};
  for (const k of ['callbackIndicator', 'messageID', 'responseURL', 'foreignCAR', 'statusInfo'] as const) {
    const v = str(k);
    if (v === null) return undefined;
    if (v !== undefined) m[k] = v;
  }
  if (o.certReq !== undefined) {
    const v = bin(o.certReq);
    if (!v) return undefined;
    m.certReq = v;
  }
  if (o.certificateSeq !== undefined) {
    if (!Array.isArray(o.certificateSeq) || o.certificateSeq.length > 32) return undefined;
    const certs = o.certificateSeq.map(bin);
    if (certs.some((c) => !c)) return undefined;
    m.certificateSeq = certs as Buffer[];
  }
  return m;
}

export function resultJson(r: SpocResult, messageID?: string): Record<string, unknown> {
  return {
    returnCode: r.returnCode,
    ...(messageID ? { messageID } : {}),
    ...(r.certificates ? { certificateSeq: r.certificates.map((c) => c.toString('base64')) } : {}),
    ...(r.documentSignerList ? { documentSignerList: r.documentSignerList.toString('base64') } : {}),
    ...(r.message ? { message: r.message } : {}),
  };
}

/** SendCertificates as JSON to a responseURL (statusInfo carries the return code). */
export function jsonCallback(ctx: ProtocolContext, settings: EpassportSettings): CallbackSender {
  return async (url, messageID, r) => {
    const body = { messageID, statusInfo: r.returnCode, ...(r.certificates ? { certificateSeq: r.certificates.map((c) => c.toString('base64')) } : {}), ...(r.documentSignerList ? { documentSignerList: r.documentSignerList.toString('base64') } : {}) };
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(settings.callbackTimeoutMs) });
    ctx.log.info({ url, status: res.status, returnCode: r.returnCode }, 'epassport: SendCertificates callback sent');
  };
}

export function mountJson(app: Hono<AppEnv>, ctx: ProtocolContext, messages: Messages, settings: EpassportSettings): void {
  const send = jsonCallback(ctx, settings);
  app.post('/epassport/v5/:operation', async (c: HonoContext<ProtocolAppEnv>) => {
    const name = c.req.param('operation') ?? '';
    const op = Object.hasOwn(paths, name) ? paths[name] : undefined;
    if (!op) return c.json({ returnCode: 'failure_syntax', message: `unknown operation; one of ${Object.keys(paths).join(', ')}` }, 404);
    let m: MessageInput | undefined;
    try {
      m = jsonMessage(await ctx.http.jsonBody(c, { maxBytes: settings.maxMessageBytes, maxDepth: 4 }));
    } catch {
      m = undefined;
    }
    if (!m) return c.json({ returnCode: 'failure_syntax', message: 'the body must be a JSON object of strings (binary values base64)' }, 400);
    const r = await messages.handle(op, m, send);
    return c.json(resultJson(r, m.messageID), r.returnCode === 'failure_syntax' ? 400 : 200);
  });
}
