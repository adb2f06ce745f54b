/**
 * The Certificate Holder Authorization Template (7F4C, TR-03110-3 C.1.5 and C.4): a terminal type
 * OID and a discretionary-data bit field (53) whose two high bits are the role and the rest the
 * relative authorisations.
 */
import { decodeOid, oidContent } from '../der.ts';
import { CvcSyntaxError } from './errors.ts';
import { terminalTypeOf, terminalTypeOids, type TerminalType } from './oids.ts';
import { byTag, cvChildren, cvTlv, cvValue, need, type CvTlv } from './tlv.ts';

export type CvRole = 'cvca' | 'dv_domestic' | 'dv_foreign' | 'terminal';

/** Template length in bytes per terminal type (IS and ST: one byte, AT: five). */
export const templateLength: Record<TerminalType, number> = { is: 1, at: 5, st: 1 };

export interface Chat {
  terminalType: TerminalType;
  /** The whole bit field, role bits included. */
  template: Buffer;
}

const roleBits: Record<CvRole, number> = { cvca: 0b11, dv_domestic: 0b10, dv_foreign: 0b01, terminal: 0b00 };

export function chatRole(c: Chat): CvRole {
  const bits = c.template[0] >> 6;
  return (Object.keys(roleBits) as CvRole[]).find((r) => roleBits[r] === bits)!;
}

/** The authorisation bits alone (role bits cleared). */
export function chatRights(c: Chat): Buffer {
  const b = Buffer.from(c.template);
  b[0] &= 0x3f;
  return b;
}

/** A CHAT of `role` with `rights` (hex or bytes; role bits in it are replaced). */
export function makeChat(terminalType: TerminalType, role: CvRole, rights: Uint8Array): Chat {
  const len = templateLength[terminalType];
  if (rights.length !== len) throw new CvcSyntaxError(`CHAT: a ${terminalType.toUpperCase()} template has ${len} byte(s)`);
  const t = Buffer.from(rights);
  t[0] = (t[0] & 0x3f) | (roleBits[role] << 6);
  return { terminalType, template: t };
}

/** Bitwise AND of two rights fields (TR-03110-3 C.4: the effective authorisation of a chain). */
export function andRights(a: Buffer, b: Buffer): Buffer {
  return Buffer.from(a.map((x, i) => x & (b[i] ?? 0)));
}

/** Whether every bit of `asked` is in `allowed`. */
export function rightsWithin(asked: Buffer, allowed: Buffer): boolean {
  return asked.length === allowed.length && asked.every((x, i) => (x & ~allowed[i]) === 0);
}

export function decodeChat(t: CvTlv, depth: number): Chat {
  const m = byTag(cvChildren(t, depth), 'CHAT');
  const o = need(m, 0x06, 'CHAT');
  const oid = decodeOid(o.buf, o.start, o.end);
  const terminalType = terminalTypeOf(oid);
  if (!terminalType) throw new CvcSyntaxError(`CHAT: unknown terminal type ${oid}`);
  const template = Buffer.from(cvValue(need(m, 0x53, 'CHAT')));
  if (template.length !== templateLength[terminalType]) throw new CvcSyntaxError('CHAT: template of the wrong length for the terminal type');
  return { terminalType, template };
}

export function encodeChat(c: Chat): Buffer {
  return cvTlv(0x7f4c, cvTlv(0x06, oidContent(terminalTypeOids[c.terminalType])), cvTlv(0x53, c.template));
}
