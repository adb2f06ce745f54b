/**
 * Certification authority / certificate holder references (42 CAR, 5F20 CHR; TR-03110-3 A.6.1):
 * country code (2 letters), holder mnemonic (0–9 characters) and sequence number (5 characters),
 * ISO/IEC 8859-1. The mnemonic and sequence split is positional: the last five are the sequence.
 */
import { CvcSyntaxError } from './errors.ts';

export interface CvReference {
  country: string;
  mnemonic: string;
  sequence: string;
}

const REF = /^([A-Z]{2})([\x20-\x7e\xa0-\xff]{0,9})([0-9A-Z]{5})$/;

export function parseReference(s: string, what = 'reference'): CvReference {
  const m = REF.exec(s);
  if (!m) throw new CvcSyntaxError(`${what}: country code, mnemonic (up to 9) and 5-character sequence number expected`);
  return { country: m[1], mnemonic: m[2], sequence: m[3] };
}

export function decodeReference(b: Uint8Array, what: string): string {
  const s = Buffer.from(b).toString('latin1');
  parseReference(s, what);
  return s;
}

export function encodeReference(s: string): Buffer {
  parseReference(s);
  return Buffer.from(s, 'latin1');
}

/** The next sequence number: numeric ones count up keeping their width; others are refused. */
export function nextReference(s: string): string {
  const r = parseReference(s);
  if (!/^\d{5}$/.test(r.sequence)) throw new Error(`${s}: only numeric sequence numbers can be counted up`);
  const n = Number(r.sequence) + 1;
  if (n > 99999) throw new Error(`${s}: sequence number exhausted`);
  return `${r.country}${r.mnemonic}${String(n).padStart(5, '0')}`;
}
