/**
 * The SPOC messages over SOAP 1.1, shaped after TR-03129's web services (namespaces
 * uri:EAC-PKI-CVCA-Protocol/1.1 for the operations, uri:eacBT/1.1 for the basic types):
 *   POST /epassport/soap   Body: <ns:RequestCertificate> <callbackIndicator/> <messageID><ns1:messageID/></messageID>
 *                          <responseURL><ns1:string/></responseURL> <certReq>base64</certReq> </ns:RequestCertificate>
 *   answer: <ns:RequestCertificateResponse><Result><ns1:returnCode/><ns1:certificateSeq><ns1:certificate/>…
 * The operation is the Body's first element; elements are matched by local name (any prefix).
 * An envelope that is not XML gets a SOAP Client fault with HTTP 400 (not SOAP 1.1's 500).
 */
import type { Hono } from 'hono';
import type { AppEnv } from '../../src/http/app-env.ts';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import type { SpocResult } from './codes.ts';
import { operations, type CallbackSender, type MessageInput, type Messages, type Operation } from './messages.ts';
import type { EpassportSettings } from './settings.ts';
import { child, escapeXml, parseXml, valueOf, XmlError, type XmlElement } from './xml.ts';

export const NS = 'uri:EAC-PKI-CVCA-Protocol/1.1';
export const NS_BT = 'uri:eacBT/1.1';
const B64 = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

const envelope = (body: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="${NS}" xmlns:ns1="${NS_BT}"><soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`;

export function soapFault(message: string): string {
  return envelope(`<soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>${escapeXml(message)}</faultstring></soapenv:Fault>`);
}

const certSeq = (certs: Buffer[] | undefined, prefix = 'ns1:') =>
  certs ? `<${prefix}certificateSeq>${certs.map((c) => `<ns1:certificate>${c.toString('base64')}</ns1:certificate>`).join('')}</${prefix}certificateSeq>` : '';

export function soapResponse(op: Operation, r: SpocResult): string {
  const list = r.documentSignerList ? `<ns1:documentSignerList>${r.documentSignerList.toString('base64')}</ns1:documentSignerList>` : '';
  return envelope(`<ns:${op}Response><Result><ns1:returnCode>${r.returnCode}</ns1:returnCode>${certSeq(r.certificates)}${list}</Result></ns:${op}Response>`);
}

/** The operation and its parameters from an envelope; undefined fields stay undefined. */
export function soapMessage(xml: string): { op?: Operation; name: string; m?: MessageInput } {
  const env = parseXml(xml);
  if (env.name !== 'Envelope') throw new XmlError('XML: not a SOAP envelope');
  const body = child(env, 'Body');
  const req = body?.children[0];
  if (!req) throw new XmlError('XML: empty SOAP Body');
  const op = operations.find((o) => o === req.name);
  if (!op) return { name: req.name };
  const m: MessageInput = {};
  for (const k of ['callbackIndicator', 'messageID', 'responseURL', 'foreignCAR', 'statusInfo'] as const) {
    const v = valueOf(child(req, k));
    if (v !== undefined && v !== '') m[k] = v;
  }
  const bin = (s: string | undefined) => (s !== undefined && B64.test(s) ? Buffer.from(s, 'base64') : undefined);
  const cr = child(req, 'certReq');
  if (cr) m.certReq = bin(valueOf(cr)) ?? Buffer.alloc(0);
  const seq = child(req, 'certificateSeq');
  if (seq) m.certificateSeq = collect(seq).map((s) => bin(s) ?? Buffer.alloc(0));
  return { op, name: req.name, m };
}

function collect(el: XmlElement): string[] {
  return el.children.filter((c) => c.name === 'certificate').map((c) => c.text.trim());
}

/** SendCertificates as SOAP to a responseURL. */
export function soapCallback(ctx: ProtocolContext, settings: EpassportSettings): CallbackSender {
  return async (url, messageID, r) => {
    const id = messageID ? `<messageID><ns1:messageID>${escapeXml(messageID)}</ns1:messageID></messageID>` : '';
    const body = envelope(`<ns:SendCertificates>${id}<statusInfo>${r.returnCode}</statusInfo>${certSeq(r.certificates, '')}</ns:SendCertificates>`);
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '"SendCertificates"' }, body, signal: AbortSignal.timeout(settings.callbackTimeoutMs) });
    ctx.log.info({ url, status: res.status, returnCode: r.returnCode }, 'epassport: SOAP SendCertificates callback sent');
  };
}

export function mountSoap(app: Hono<AppEnv>, ctx: ProtocolContext, messages: Messages, settings: EpassportSettings): void {
  const send = soapCallback(ctx, settings);
  const xml = (body: string, status: 200 | 400 | 404 | 413) => new Response(body, { status, headers: { 'content-type': 'text/xml; charset=utf-8' } });
  app.post('/epassport/soap', async (c) => {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(await ctx.http.rawBody(c, settings.maxMessageBytes));
    } catch {
      return xml(soapFault('the message must be UTF-8 XML within the size limit'), 400);
    }
    let parsed: ReturnType<typeof soapMessage>;
    try {
      parsed = soapMessage(text);
    } catch (e) {
      return xml(soapFault(e instanceof XmlError ? e.message : 'malformed SOAP message'), 400);
    }
    if (!parsed.op || !parsed.m) return xml(soapFault(`unknown operation ${parsed.name}`), 404);
    const r = await messages.handle(parsed.op, parsed.m, send);
    return xml(soapResponse(parsed.op, r), 200);
  });
}
