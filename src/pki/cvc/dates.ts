/**
 * CV certificate dates (5F25 effective, 5F24 expiration; TR-03110-3 D.2.1.3): six bytes, each one
 * decimal digit of YYMMDD, years 2000–2099. A date names a whole day (UTC): a certificate is valid
 * from the start of its effective date to the end of its expiration date.
 */
import { CvcSyntaxError } from './errors.ts';

export function encodeCvDate(d: Date): Buffer {
  const y = d.getUTCFullYear();
  if (y < 2000 || y > 2099) throw new Error('CV dates cover 2000-2099');
  const s = `${String(y - 2000).padStart(2, '0')}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
  return Buffer.from([...s].map((c) => c.charCodeAt(0) - 48));
}

/** The day as a Date at 00:00 UTC. */
export function decodeCvDate(b: Uint8Array, what: string): Date {
  if (b.length !== 6 || b.some((x) => x > 9)) throw new CvcSyntaxError(`${what}: six unpacked BCD digits expected`);
  const [y, m, d] = [b[0] * 10 + b[1], b[2] * 10 + b[3], b[4] * 10 + b[5]];
  const date = new Date(Date.UTC(2000 + y, m - 1, d));
  if (m < 1 || m > 12 || date.getUTCDate() !== d) throw new CvcSyntaxError(`${what}: not a calendar date`);
  return date;
}

/** Start of the UTC day of `d`. */
export function cvDay(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
}

/** Whether `now` lies within [effective 00:00, expiration 24:00) UTC. */
export function cvDateValid(effective: Date, expiration: Date, now: Date): boolean {
  return now.getTime() >= effective.getTime() && now.getTime() < expiration.getTime() + 86_400_000;
}

/** A date as YYMMDD text (cvc-create's --issued/--expires form). */
export const yymmdd = (d: Date): string => encodeCvDate(d).join('');
