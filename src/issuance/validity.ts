/**
 * Validity: parsing what a client asked for (a duration or absolute bounds) and resolving it against
 * the profile and the issuer into the notBefore/notAfter of the certificate. Pure functions.
 *
 * Accepted spellings:
 *  - durations: emCA `D:H:M:S`, ISO 8601 `P90D` / `PT12H` / `P1DT2H3M4S` / `P2W`, or whole seconds
 *    (a number or a string of digits);
 *  - instants: a Date, RFC 3339 with `Z` or an offset (fractional seconds allowed), or emCA
 *    `dd:MM:yyyy HH:mm:ss` (UTC).
 */
import { IssuanceError, Unavailable } from './errors.ts';

/**
 * A refused validity, code `validity`. Rules: `validity.duration` and `validity.dateTime` (a value
 * that does not parse), `validity.ambiguous` (duration and notAfter), `validity.order` (notAfter
 * not after notBefore), `validity.notAfter` (in the past), `validity.notBefore` (so early the
 * profile maximum has already ended), `validity.issuer` (outside the issuing CA's validity).
 */
const invalid = (rule: string, message: string) => new IssuanceError('validity', message, `validity.${rule}`);
import type { ValidityRequest } from './request.ts';
import type { Profile } from '../profiles/model.ts';

/** emCA's upper bound for the days part of `D:H:M:S`. */
export const EMCA_MAX_DAYS = 36135;

const DAY = 86400;

/** Quote a client-supplied value for an error message, cut short so messages stay readable. */
function q(value: unknown): string {
  const s = typeof value === 'string' ? value : String(value);
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}

function positiveSeconds(n: number, what: string): number {
  if (!Number.isSafeInteger(n)) throw invalid('duration', `validity duration ${what} is too large`);
  if (n <= 0) throw invalid('duration', `validity duration ${what} must be greater than zero`);
  return n;
}

/**
 * A duration in whole seconds (> 0). Throws IssuanceError `validity` naming the problem.
 *
 * Years and months are refused in ISO 8601 durations: their length in seconds depends on the
 * calendar position, and a certificate validity must mean the same thing to client and CA.
 * Fractional ISO components are refused too (certificates carry whole seconds).
 */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || !Number.isInteger(input)) {
      throw invalid('duration', `validity duration ${q(input)} must be a whole number of seconds`);
    }
    return positiveSeconds(input, `${input} seconds`);
  }
  if (typeof input !== 'string') throw invalid('duration', 'validity duration must be a string or a number');
  const s = input.trim();
  if (s === '') throw invalid('duration', 'validity duration is empty');

  // Plain seconds.
  if (/^\d+$/.test(s)) return positiveSeconds(Number(s), `${s} seconds`);

  // emCA D:H:M:S.
  if (s.includes(':')) {
    const parts = s.split(':');
    if (parts.length !== 4) {
      throw invalid('duration', `validity duration ${q(input)} must have four parts D:H:M:S, got ${parts.length}`);
    }
    const names = ['days', 'hours', 'minutes', 'seconds'] as const;
    const max = [EMCA_MAX_DAYS, 23, 59, 59];
    const values = parts.map((p, i) => {
      if (!/^\d+$/.test(p)) {
        throw invalid('duration', `validity ${names[i]} must be a decimal integer, got ${q(p)} in ${q(input)}`);
      }
      const v = Number(p);
      if (v > max[i]) throw invalid('duration', `validity ${names[i]} must be 0-${max[i]}, got ${p}`);
      return v;
    });
    const [d, h, m, ss] = values;
    const total = d * DAY + h * 3600 + m * 60 + ss;
    if (total <= 0) throw invalid('duration', `validity duration ${q(input)} must be greater than zero`);
    return total;
  }

  // ISO 8601 duration.
  if (/^p/i.test(s)) {
    const u = s.toUpperCase();
    if (/[.,]/.test(u)) {
      throw invalid('duration', `validity duration ${q(input)}: fractional ISO 8601 components are not supported`);
    }
    const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(u);
    if (!m || u === 'P' || u.endsWith('T')) {
      throw invalid('duration', 
        `validity duration ${q(input)} is not a valid ISO 8601 duration (expected e.g. P90D, PT12H, P1DT2H3M4S)`,
      );
    }
    if (m[1] !== undefined || m[2] !== undefined) {
      throw invalid('duration', 
        `validity duration ${q(input)} uses years or months, which have no fixed length; use days (e.g. P365D)`,
      );
    }
    const n = (i: number) => (m[i] === undefined ? 0 : Number(m[i]));
    const total = n(3) * 7 * DAY + n(4) * DAY + n(5) * 3600 + n(6) * 60 + n(7);
    return positiveSeconds(total, q(input));
  }

  throw invalid('duration', 
    `validity duration ${q(input)} is not recognised: expected D:H:M:S, an ISO 8601 duration such as P90D, or a number of seconds`,
  );
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysInMonth(y: number, m: number): number {
  return [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
}

/** Range checks shared by both instant formats; `label` names the value in messages. */
function checkFields(label: string, y: number, mo: number, d: number, h: number, mi: number, s: number): void {
  if (mo < 1 || mo > 12) throw invalid('dateTime', `${label}: month must be 1-12, got ${mo}`);
  const dim = daysInMonth(y, mo);
  if (d < 1 || d > dim) {
    throw invalid('dateTime', `${label}: day must be 1-${dim} for ${String(mo).padStart(2, '0')}/${y}, got ${d}`);
  }
  if (h > 23) throw invalid('dateTime', `${label}: hours must be 0-23, got ${h}`);
  if (mi > 59) throw invalid('dateTime', `${label}: minutes must be 0-59, got ${mi}`);
  // RFC 3339 allows a leap second (60); JavaScript time cannot represent it, so it is refused.
  if (s > 59) throw invalid('dateTime', `${label}: seconds must be 0-59, got ${s}`);
}

function utc(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number {
  const date = new Date(Date.UTC(2000, mo - 1, d, h, mi, s, ms));
  date.setUTCFullYear(y); // Date.UTC maps years 0-99 onto 1900-1999
  return date.getTime();
}

/**
 * An instant. Accepts a Date, RFC 3339 (`2026-01-02T03:04:05Z`, `…+05:30`, `…05.123Z`) or emCA
 * `dd:MM:yyyy HH:mm:ss` read as UTC. A date-time without a timezone is refused rather than guessed.
 * Sub-millisecond digits are truncated; callers needing whole seconds truncate further.
 */
export function parseDateTime(input: string | Date): Date {
  if (input instanceof Date) {
    if (Number.isNaN(input.getTime())) throw invalid('dateTime', 'date-time is an invalid Date');
    return new Date(input.getTime());
  }
  if (typeof input !== 'string') throw invalid('dateTime', 'date-time must be a string or a Date');
  const s = input.trim();
  const label = `date-time ${q(input)}`;

  const rfc = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})?$/.exec(s);
  if (rfc) {
    const [, ys, mos, ds, hs, mis, ss, frac, tz] = rfc;
    if (tz === undefined) {
      throw invalid('dateTime', `${label} has no timezone: add "Z" for UTC or an offset such as "+05:30"`);
    }
    const [y, mo, d, h, mi, sec] = [ys, mos, ds, hs, mis, ss].map(Number);
    checkFields(label, y, mo, d, h, mi, sec);
    const ms = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'));
    let offsetMinutes = 0;
    if (tz !== 'Z' && tz !== 'z') {
      const oh = Number(tz.slice(1, 3));
      const om = Number(tz.slice(4, 6));
      if (oh > 23) throw invalid('dateTime', `${label}: offset hours must be 0-23, got ${oh}`);
      if (om > 59) throw invalid('dateTime', `${label}: offset minutes must be 0-59, got ${om}`);
      offsetMinutes = (tz[0] === '-' ? -1 : 1) * (oh * 60 + om);
    }
    return new Date(utc(y, mo, d, h, mi, sec, ms) - offsetMinutes * 60_000);
  }

  const emca = /^(\d{2}):(\d{2}):(\d{4}) (\d{2}):(\d{2}):(\d{2})$/.exec(s);
  if (emca) {
    const [d, mo, y, h, mi, sec] = emca.slice(1).map(Number);
    checkFields(label, y, mo, d, h, mi, sec);
    return new Date(utc(y, mo, d, h, mi, sec, 0));
  }

  throw invalid('dateTime', 
    `${label} is not recognised: expected RFC 3339 (2026-01-02T03:04:05Z) or dd:MM:yyyy HH:mm:ss (UTC)`,
  );
}

export interface ResolvedValidity {
  notBefore: Date;
  notAfter: Date;
  /** True when the requested (or default) notAfter was shortened, or a requested notBefore moved. */
  clamped: boolean;
}

const sec = (d: Date) => Math.floor(d.getTime() / 1000);
const span = (s: number) => (s % DAY === 0 ? `${s / DAY} days` : `${s} seconds`);
const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

/**
 * The certificate's validity window.
 *
 * Choices:
 *  - Everything is whole seconds: `now` and requested instants are truncated (X.509 times carry
 *    seconds); the issuer's notBefore is rounded up so the certificate never starts before it.
 *  - No requested validity, or `allowCustom: false` → now-backdate .. now+default. A custom request
 *    under `allowCustom: false` is ignored, not refused (the profile decides, the client asked).
 *  - The backdate (clock-skew allowance) applies only when the CA chooses the start. A requested
 *    notBefore is used as given, and durations count from it; otherwise they count from `now`.
 *  - `rule.max` bounds notAfter - start, where start is `now` or the requested notBefore: the
 *    backdate does not eat into the maximum.
 *  - A duration together with notAfter is ambiguous and refused; notBefore alone gets the default
 *    length.
 *  - notAfter must follow notBefore and lie in the future (code `validity`); a requested window is then
 *    clamped to the maximum length and to the issuer's own validity (`clamped: true`). Trimming the
 *    backdate to the issuer's notBefore is not reported as a clamp (the client did not ask for it).
 *  - An issuer whose certificate has already expired cannot issue at all: Unavailable.
 */
export function resolveValidity(
  rule: Profile['validity'],
  req: ValidityRequest | undefined,
  opts: { now: Date; issuerNotBefore: Date; issuerNotAfter: Date },
): ResolvedValidity {
  const now = sec(opts.now);
  const issuerNotBefore = Math.ceil(opts.issuerNotBefore.getTime() / 1000);
  const issuerNotAfter = sec(opts.issuerNotAfter);
  if (issuerNotAfter <= now) {
    throw new Unavailable(`the issuing CA certificate expired at ${iso(issuerNotAfter)}; it cannot issue`);
  }

  const custom =
    rule.allowCustom &&
    req !== undefined &&
    (req.duration !== undefined || req.notBefore !== undefined || req.notAfter !== undefined);

  let start = now; // the nominal start that durations and `max` count from
  let notBefore = now - rule.backdate;
  let notAfter: number;
  let requestedNotBefore = false;

  if (!custom) {
    notAfter = now + rule.default;
  } else {
    if (req.duration !== undefined && req.notAfter !== undefined) {
      throw invalid('ambiguous', 'validity: give either a duration or a notAfter, not both');
    }
    if (req.notBefore !== undefined) {
      start = notBefore = sec(parseDateTime(req.notBefore));
      requestedNotBefore = true;
    }
    if (req.notAfter !== undefined) notAfter = sec(parseDateTime(req.notAfter));
    else if (req.duration !== undefined) notAfter = start + parseDuration(req.duration);
    else notAfter = start + rule.default;

    if (notAfter <= notBefore) {
      throw invalid('order', `validity: notAfter ${iso(notAfter)} must be after notBefore ${iso(notBefore)}`);
    }
    if (notAfter <= now) throw invalid('notAfter', `validity: notAfter ${iso(notAfter)} is in the past`);
  }

  let clamped = false;
  if (notAfter - start > rule.max) {
    notAfter = start + rule.max;
    clamped = true;
    if (notAfter <= now) {
      throw invalid(
        'notBefore',
        `validity: notBefore ${iso(notBefore)} is so far in the past that the profile maximum of ${span(rule.max)} ended at ${iso(notAfter)}`,
      );
    }
  }
  if (notAfter > issuerNotAfter) {
    notAfter = issuerNotAfter;
    clamped = true;
  }
  if (notBefore < issuerNotBefore) {
    notBefore = issuerNotBefore;
    if (requestedNotBefore) clamped = true;
  }
  if (notAfter <= notBefore) {
    throw invalid(
      'issuer',
      `validity: the requested window lies outside the issuing CA's validity ${iso(issuerNotBefore)} .. ${iso(issuerNotAfter)}`,
    );
  }
  return { notBefore: new Date(notBefore * 1000), notAfter: new Date(notAfter * 1000), clamped };
}
