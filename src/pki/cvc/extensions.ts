/**
 * Certificate extensions (65, TR-03110-3 C.3): discretionary data templates (73), each an OID
 * followed by context-specific data objects (80, 81, … e.g. the certificate-description hash or
 * the terminal sector). Certgate keeps them as found; it writes none it does not understand.
 */
import { decodeOid, oidContent } from '../der.ts';
import { CvcSyntaxError } from './errors.ts';
import { cvChildren, cvRaw, cvTlv, type CvTlv } from './tlv.ts';

export interface CvExtension {
  oid: string;
  /** The data objects after the OID, each TLV as encoded. */
  objects: { tag: number; value: Buffer }[];
}

export function decodeExtensions(t: CvTlv, depth: number): CvExtension[] {
  return cvChildren(t, depth).map((ddt) => {
    if (ddt.tag !== 0x73) throw new CvcSyntaxError('extensions: discretionary data template (73) expected');
    const [o, ...rest] = cvChildren(ddt, depth + 1);
    if (!o || o.tag !== 0x06) throw new CvcSyntaxError('extension: OID first');
    const oid = decodeOid(o.buf, o.start, o.end);
    return { oid, objects: rest.map((r) => ({ tag: r.tag, value: Buffer.from(cvRaw(r).subarray(r.start - r.offset)) })) };
  });
}

export function encodeExtensions(exts: CvExtension[]): Buffer {
  return cvTlv(0x65, ...exts.map((e) => cvTlv(0x73, cvTlv(0x06, oidContent(e.oid)), ...e.objects.map((o) => cvTlv(o.tag, o.value)))));
}
