/**
 * The certificate body (7F4E, TR-03110-3 C.1): profile identifier, CAR, public key, CHR, CHAT,
 * effective and expiration dates, extensions — in that order. A request's body (C.2) has the same
 * tags with CAR optional and CHAT and dates normally absent; `kind` says which rules apply.
 */
import { decodeChat, encodeChat, type Chat } from './chat.ts';
import { decodeCvDate, encodeCvDate } from './dates.ts';
import { CvcSyntaxError } from './errors.ts';
import { decodeExtensions, encodeExtensions, type CvExtension } from './extensions.ts';
import { decodeCvPublicKey, encodeCvPublicKey, type CvPublicKey } from './public-key.ts';
import { decodeReference, encodeReference } from './reference.ts';
import { byTag, cvChildren, cvTlv, cvValue, hexTag, need, type CvTlv } from './tlv.ts';

export interface CvBody {
  profileId: number;
  car?: string;
  publicKey: CvPublicKey;
  chr: string;
  chat?: Chat;
  effective?: Date;
  expiration?: Date;
  extensions?: CvExtension[];
}

const ORDER = [0x5f29, 0x42, 0x7f49, 0x5f20, 0x7f4c, 0x5f25, 0x5f24, 0x65];

export function decodeBody(t: CvTlv, depth: number, kind: 'certificate' | 'request'): CvBody {
  const items = cvChildren(t, depth);
  let last = -1;
  for (const i of items) {
    const pos = ORDER.indexOf(i.tag);
    if (pos < 0) throw new CvcSyntaxError(`body: unexpected tag ${hexTag(i.tag)}`);
    if (pos <= last) throw new CvcSyntaxError(`body: tag ${hexTag(i.tag)} out of order`);
    last = pos;
  }
  const m = byTag(items, 'body');
  const pid = cvValue(need(m, 0x5f29, 'body'));
  if (pid.length !== 1 || pid[0] !== 0) throw new CvcSyntaxError('body: profile identifier 0 expected');
  const b: CvBody = {
    profileId: 0,
    publicKey: decodeCvPublicKey(need(m, 0x7f49, 'body'), depth + 1),
    chr: decodeReference(cvValue(need(m, 0x5f20, 'body')), 'CHR'),
  };
  if (m.has(0x42)) b.car = decodeReference(cvValue(m.get(0x42)!), 'CAR');
  if (m.has(0x7f4c)) b.chat = decodeChat(m.get(0x7f4c)!, depth + 1);
  if (m.has(0x5f25)) b.effective = decodeCvDate(cvValue(m.get(0x5f25)!), 'effective date');
  if (m.has(0x5f24)) b.expiration = decodeCvDate(cvValue(m.get(0x5f24)!), 'expiration date');
  if (m.has(0x65)) b.extensions = decodeExtensions(m.get(0x65)!, depth + 1);
  if (kind === 'certificate') {
    if (!b.car || !b.chat || !b.effective || !b.expiration) throw new CvcSyntaxError('certificate body: CAR, CHAT and both dates are required');
    if (b.expiration < b.effective) throw new CvcSyntaxError('certificate body: expires before it takes effect');
  }
  return b;
}

export function encodeBody(b: CvBody): Buffer {
  const parts: Buffer[] = [cvTlv(0x5f29, Buffer.from([b.profileId]))];
  if (b.car) parts.push(cvTlv(0x42, encodeReference(b.car)));
  parts.push(encodeCvPublicKey(b.publicKey), cvTlv(0x5f20, encodeReference(b.chr)));
  if (b.chat) parts.push(encodeChat(b.chat));
  if (b.effective) parts.push(cvTlv(0x5f25, encodeCvDate(b.effective)));
  if (b.expiration) parts.push(cvTlv(0x5f24, encodeCvDate(b.expiration)));
  if (b.extensions?.length) parts.push(encodeExtensions(b.extensions));
  return cvTlv(0x7f4e, ...parts);
}

