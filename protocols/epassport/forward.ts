/**
 * RequestForeignCertificate's second leg: the national SPOC sends the DV's request to the foreign
 * SPOC as RequestCertificate, synchronously. A SPOC URL ending in `/soap` is spoken to in SOAP 1.1
 * (TR-03129 shape); any other URL is taken as the base of Certgate's JSON messages.
 */
import type { ReturnCode } from './codes.ts';
import { child, escapeXml, parseXml, valueOf } from './xml.ts';

const known = new Set<string>(['ok_cert_available', 'ok_syntax', 'ok_reception_ack', 'ok_request_forwarded', 'failure_inner_signature', 'failure_outer_signature', 'failure_expired', 'failure_domain_parameters', 'failure_request_not_accepted', 'failure_syntax', 'failure_synchronous_processing_not_possible', 'failure_internal_error']);

/** A foreign SPOC's return code, if it is one the messages define (anything else is not passed on). */
const codeOf = (v: unknown): ReturnCode | undefined => (typeof v === 'string' && known.has(v) ? (v as ReturnCode) : undefined);

export interface ForwardAnswer {
  returnCode?: ReturnCode;
  certificates?: Buffer[];
}

export async function forwardRequest(url: string, certReq: Buffer, messageID: string | undefined, timeoutMs: number): Promise<ForwardAnswer> {
  const signal = AbortSignal.timeout(timeoutMs);
  if (/\/soap$/.test(url)) {
    const id = messageID ? `<messageID><ns1:messageID>${escapeXml(messageID)}</ns1:messageID></messageID>` : '';
    const body = `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="uri:EAC-PKI-CVCA-Protocol/1.1" xmlns:ns1="uri:eacBT/1.1"><soapenv:Body><ns:RequestCertificate><callbackIndicator>callback_not_possible</callbackIndicator>${id}<certReq>${certReq.toString('base64')}</certReq></ns:RequestCertificate></soapenv:Body></soapenv:Envelope>`;
    const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '"RequestCertificate"' }, body, signal });
    return soapAnswer(await r.text());
  }
  const r = await fetch(`${url}/requestCertificate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ callbackIndicator: 'callback_not_possible', messageID, certReq: certReq.toString('base64') }),
    signal,
  });
  const j = (await r.json().catch(() => ({}))) as { returnCode?: unknown; certificateSeq?: unknown };
  const certs = Array.isArray(j.certificateSeq) ? j.certificateSeq.filter((c): c is string => typeof c === 'string').map((c) => Buffer.from(c, 'base64')) : undefined;
  return { returnCode: codeOf(j.returnCode), certificates: certs };
}

/** `<…Response><Result><returnCode/><certificateSeq><certificate/>…` from a SOAP answer; empty when unreadable. */
function soapAnswer(xml: string): ForwardAnswer {
  try {
    const result = child(child(parseXml(xml), 'Body')?.children[0] ?? { name: '', children: [], text: '' }, 'Result');
    if (!result) return {};
    const seq = child(result, 'certificateSeq');
    return {
      returnCode: codeOf(valueOf(child(result, 'returnCode'))),
      certificates: seq?.children.filter((c) => c.name === 'certificate').map((c) => Buffer.from(c.text.trim(), 'base64')),
    };
  } catch {
    return {};
  }
}
