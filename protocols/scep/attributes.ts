/**
 * SCEP's authenticated attributes (RFC 8894 §3.2.1), carried in the SignerInfo of every pkiMessage:
 *
 *   id-VeriSign OBJECT IDENTIFIER ::= {2 16 US(840) 1 VeriSign(113733)}
 *   id-pki        ::= {id-VeriSign pki(1)}
 *   id-attributes ::= {id-pki attributes(9)}
 *   messageType    {id-attributes 2}  PrintableString (decimal)
 *   pkiStatus      {id-attributes 3}  PrintableString (decimal)
 *   failInfo       {id-attributes 4}  PrintableString (decimal)
 *   senderNonce    {id-attributes 5}  OCTET STRING (16 bytes)
 *   recipientNonce {id-attributes 6}  OCTET STRING (16 bytes)
 *   transactionID  {id-attributes 7}  PrintableString
 *   failInfoText   {id-pkix 24 1}     UTF8String (RFC 8894 §3.2.1.4.1)
 *
 * Attribute values are whole DER TLVs (as the CMS layer's `signedAttrs` map gives them).
 */
import { octetString, printableString, readTlv, Tag, utf8String } from '../../src/pki/der.ts';

export const scepOids = {
  messageType: '2.16.840.1.113733.1.9.2',
  pkiStatus: '2.16.840.1.113733.1.9.3',
  failInfo: '2.16.840.1.113733.1.9.4',
  senderNonce: '2.16.840.1.113733.1.9.5',
  recipientNonce: '2.16.840.1.113733.1.9.6',
  transactionID: '2.16.840.1.113733.1.9.7',
  failInfoText: '1.3.6.1.5.5.7.24.1',
  /** PKCS#9 challengePassword, inside the PKCS#10 request. */
  challengePassword: '1.2.840.113549.1.9.7',
} as const;

export const MessageType = { CertRep: 3, RenewalReq: 17, PKCSReq: 19, CertPoll: 20, GetCert: 21, GetCRL: 22 } as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];
const requestTypes = new Set<number>([MessageType.RenewalReq, MessageType.PKCSReq, MessageType.CertPoll, MessageType.GetCert, MessageType.GetCRL]);

export const PkiStatus = { SUCCESS: 0, FAILURE: 2, PENDING: 3 } as const;
export type PkiStatus = (typeof PkiStatus)[keyof typeof PkiStatus];

export const FailInfo = { badAlg: 0, badMessageCheck: 1, badRequest: 2, badTime: 3, badCertId: 4 } as const;
export type FailInfo = (typeof FailInfo)[keyof typeof FailInfo];

/** A request's attributes, checked for presence and form. */
export interface RequestAttributes {
  messageType: MessageType;
  transactionID: string;
  senderNonce: Buffer;
}

/** Why a message's attributes were refused; the caller answers with a CertRep badRequest. */
export class ScepAttributeError extends Error {}

function single(attrs: Map<string, Buffer[]>, oid: string, name: string): Buffer {
  const values = attrs.get(oid);
  if (!values || values.length !== 1) throw new ScepAttributeError(`${name}: expected exactly one value`);
  return values[0];
}

function contentOf(value: Buffer, tag: number, name: string): Buffer {
  const t = readTlv(value, 0);
  if (t.tag !== tag || t.end !== value.length) throw new ScepAttributeError(`${name}: wrong type`);
  return value.subarray(t.start, t.end);
}

/** PrintableString characters only; transaction ids are keys in our tables. */
const printable = /^[A-Za-z0-9 '()+,\-./:=?]+$/;

/** Decodes and checks the attributes every SCEP request carries (RFC 8894 §3.2.1). */
export function decodeRequestAttributes(attrs: Map<string, Buffer[]>): RequestAttributes {
  const mt = contentOf(single(attrs, scepOids.messageType, 'messageType'), Tag.PRINTABLE_STRING, 'messageType').toString('latin1');
  if (!/^\d{1,3}$/.test(mt) || !requestTypes.has(Number(mt))) throw new ScepAttributeError(`messageType ${JSON.stringify(mt.slice(0, 8))} is not a request`);
  const tid = contentOf(single(attrs, scepOids.transactionID, 'transactionID'), Tag.PRINTABLE_STRING, 'transactionID').toString('latin1');
  if (tid.length < 1 || tid.length > 128 || !printable.test(tid)) throw new ScepAttributeError('transactionID: empty, too long or not printable');
  const nonce = contentOf(single(attrs, scepOids.senderNonce, 'senderNonce'), Tag.OCTET_STRING, 'senderNonce');
  if (nonce.length < 8 || nonce.length > 64) throw new ScepAttributeError('senderNonce: expected 16 bytes');
  return { messageType: Number(mt) as MessageType, transactionID: tid, senderNonce: Buffer.from(nonce) };
}

export interface CertRepAttributes {
  transactionID: string;
  recipientNonce: Buffer;
  senderNonce: Buffer;
  status: PkiStatus;
  failInfo?: FailInfo;
  failInfoText?: string;
}

/** The signed attributes of a CertRep (RFC 8894 §3.3.2), as CMS attribute values. */
export function encodeCertRepAttributes(a: CertRepAttributes): { oid: string; values: Buffer[] }[] {
  const out: { oid: string; values: Buffer[] }[] = [
    { oid: scepOids.messageType, values: [printableString(String(MessageType.CertRep))] },
    { oid: scepOids.pkiStatus, values: [printableString(String(a.status))] },
    { oid: scepOids.transactionID, values: [printableString(a.transactionID)] },
    { oid: scepOids.senderNonce, values: [octetString(a.senderNonce)] },
    { oid: scepOids.recipientNonce, values: [octetString(a.recipientNonce)] },
  ];
  if (a.status === PkiStatus.FAILURE) {
    out.push({ oid: scepOids.failInfo, values: [printableString(String(a.failInfo ?? FailInfo.badRequest))] });
    if (a.failInfoText) out.push({ oid: scepOids.failInfoText, values: [utf8String(a.failInfoText)] });
  }
  return out;
}

export interface DecodedCertRep {
  messageType: number;
  status: number;
  failInfo?: number;
  transactionID: string;
  senderNonce: Buffer;
  recipientNonce: Buffer;
}

/** Reads a CertRep's attributes (the test client and benchmark use it; so would an RA). */
export function decodeCertRepAttributes(attrs: Map<string, Buffer[]>): DecodedCertRep {
  const str = (oid: string, name: string) => contentOf(single(attrs, oid, name), Tag.PRINTABLE_STRING, name).toString('latin1');
  const oct = (oid: string, name: string) => Buffer.from(contentOf(single(attrs, oid, name), Tag.OCTET_STRING, name));
  return {
    messageType: Number(str(scepOids.messageType, 'messageType')),
    status: Number(str(scepOids.pkiStatus, 'pkiStatus')),
    failInfo: attrs.has(scepOids.failInfo) ? Number(str(scepOids.failInfo, 'failInfo')) : undefined,
    transactionID: str(scepOids.transactionID, 'transactionID'),
    senderNonce: oct(scepOids.senderNonce, 'senderNonce'),
    recipientNonce: oct(scepOids.recipientNonce, 'recipientNonce'),
  };
}

/** Request attributes for a client (tests, benchmark): what scepclient puts in a PKCSReq. */
export function encodeRequestAttributes(messageType: MessageType, transactionID: string, senderNonce: Buffer): { oid: string; values: Buffer[] }[] {
  return [
    { oid: scepOids.messageType, values: [printableString(String(messageType))] },
    { oid: scepOids.transactionID, values: [printableString(transactionID)] },
    { oid: scepOids.senderNonce, values: [octetString(senderNonce)] },
  ];
}
